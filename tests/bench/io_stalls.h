// How long the whole machine waited on the disk during a run, and how much
// of each request's latency that was. Linux's pressure stall information
// (/proc/pressure/io) counts, in µs, the time during which every task that
// had work to do was waiting on I/O ("full"): nothing ran, because the disk
// had not answered. A durable write cannot answer before its sync, so such
// a stall delays every request in flight by up to its length, whatever the
// broker does. Sampled every few ms with CLOCK_MONOTONIC stamps (the clock
// of --timeline), it lets a run's tail be told apart: the disk's stalls or
// the broker's own time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tests/bench/latency_recorder.h"

namespace hart::bench {

// The machine-wide "full" I/O stall counted so far, read at `at`.
struct IoPressureSample {
  BenchClock::time_point at;
  int64_t full_us = 0;
};

// The "full" line's total (µs) of a /proc/pressure/io text:
//   some avg10=0.00 avg60=0.00 avg300=0.00 total=1234
//   full avg10=0.00 avg60=0.00 avg300=0.00 total=567
absl::StatusOr<int64_t> ParseIoPressureFull(absl::string_view text);

// The stall counted between `from` and `to`, in µs. Between two samples the
// count is taken to have grown evenly; before the first and after the last
// nothing is known, and nothing is counted. `samples` in time order.
double StallBetween(const std::vector<IoPressureSample>& samples, BenchClock::time_point from,
                    BenchClock::time_point to);

struct IoStallSummary {
  double full_stall_seconds = 0;  // within the window
  double longest_stall_ms = 0;    // the most within any kLongestStallSpan of it
  // Each request's latency less the stall counted during its life: what
  // the run's percentiles would be had the disk never held everything up.
  LatencySummary latency_less_stalls;
};

// The span `longest_stall_ms` looks at: about the longest single stall
// seen on this machine's disk, short enough not to add up ordinary syncs.
inline constexpr std::chrono::milliseconds kLongestStallSpan{100};

IoStallSummary SummarizeIoStalls(const std::vector<IoPressureSample>& samples,
                                 BenchClock::time_point window_start,
                                 BenchClock::time_point window_end,
                                 const std::vector<Lifetime>& requests);

// Reads a pressure file every `interval` on a thread of its own until
// Stop().
class IoPressureSampler {
 public:
  // The machine's file. Fails (and samples nothing) when it cannot be read:
  // a kernel without pressure stall information.
  static constexpr const char* kMachinePressure = "/proc/pressure/io";

  static absl::StatusOr<std::unique_ptr<IoPressureSampler>> Start(
      const std::string& path, std::chrono::milliseconds interval);
  ~IoPressureSampler();

  // Stops sampling (a last sample is taken) and returns every sample.
  std::vector<IoPressureSample> Stop();

 private:
  IoPressureSampler(int fd, std::chrono::milliseconds interval);
  std::optional<IoPressureSample> Read() const;
  void Run();

  const int fd_;
  const std::chrono::milliseconds interval_;
  std::atomic<bool> stopping_{false};
  std::vector<IoPressureSample> samples_;  // the sampling thread's until joined
  std::thread thread_;
};

}  // namespace hart::bench
