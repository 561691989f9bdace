// Reads samples back from a Prometheus text exposition (BrokerMetrics::
// Scrape), for tests: a series is written as it appears there, labels in
// name order, e.g. hart_intakes_total{outcome="created"}.
#pragma once

#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>

namespace hart::testing {

// The value of `series` in `scrape`; nullopt if it is not there.
inline std::optional<double> SampleValue(const std::string& scrape, const std::string& series) {
  std::istringstream lines(scrape);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::strtod(line.c_str() + series.size() + 1, nullptr);
    }
  }
  return std::nullopt;
}

}  // namespace hart::testing
