// A plain-text table with left-aligned, space-padded columns.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace hart::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}

  // One row; missing cells print empty, extra cells are dropped.
  void AddRow(std::vector<std::string> row);

  // Header, then rows, each line prefixed by `indent`; the last column is
  // not padded, so long values (errors) do not widen the others.
  void Print(std::ostream& out, const std::string& indent = "") const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace hart::cli
