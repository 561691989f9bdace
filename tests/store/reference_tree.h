// The reference tree of the conformance suite: leaf hashes as the store
// lists them, held in memory, so roots and proofs are computed with the
// in-memory code of broker/audit, never through the store.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/audit/merkle_tree.h"

namespace hart::conformance {

class InMemoryLeaves final : public audit::HashReader {
 public:
  explicit InMemoryLeaves(std::vector<std::string> leaves) : leaves_(std::move(leaves)) {}
  absl::StatusOr<std::string> LeafHashAt(uint64_t index) override {
    if (index >= leaves_.size()) return absl::NotFoundError("past the last leaf");
    return leaves_[index];
  }
  uint64_t size() const { return leaves_.size(); }

 private:
  std::vector<std::string> leaves_;
};

}  // namespace hart::conformance
