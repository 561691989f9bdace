#include "tests/bench/timeline.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace hart::bench {
namespace {

absl::Status CannotWrite(const std::string& path, int error) {
  return absl::FailedPreconditionError("cannot write " + path + ": " + std::strerror(error));
}

}  // namespace

absl::Status CheckTimelineWritable(const std::string& path) {
  std::FILE* out = std::fopen(path.c_str(), "w");
  if (out == nullptr) return CannotWrite(path, errno);
  if (std::fclose(out) != 0) return CannotWrite(path, errno);
  return absl::OkStatus();
}

absl::Status WriteTimeline(const std::string& path, std::vector<Lifetime> requests,
                           const std::string& latency_column,
                           const std::vector<IoPressureSample>& io_pressure) {
  std::sort(requests.begin(), requests.end(),
            [](const Lifetime& a, const Lifetime& b) { return a.start < b.start; });
  std::FILE* out = std::fopen(path.c_str(), "w");
  if (out == nullptr) return CannotWrite(path, errno);
  const bool stalls = !io_pressure.empty();
  std::fprintf(out, "sent_monotonic_s,%s%s\n", latency_column.c_str(),
               stalls ? ",io_full_stall_ms" : "");
  for (const auto& [start, latency_ns] : requests) {
    // steady_clock is CLOCK_MONOTONIC on Linux.
    const double sent_s = std::chrono::duration<double>(start.time_since_epoch()).count();
    std::fprintf(out, "%.6f,%.3f", sent_s, static_cast<double>(latency_ns) / 1e6);
    if (stalls) {
      const auto end = start + std::chrono::nanoseconds(latency_ns);
      std::fprintf(out, ",%.3f", StallBetween(io_pressure, start, end) / 1e3);
    }
    std::fputc('\n', out);
  }
  const bool failed = std::ferror(out) != 0;
  const int write_error = errno;
  if (std::fclose(out) != 0 || failed) return CannotWrite(path, failed ? write_error : errno);
  return absl::OkStatus();
}

}  // namespace hart::bench
