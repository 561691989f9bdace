// hart-bench --timeline: one CSV line per measured request, in send order,
// with its send time on CLOCK_MONOTONIC (seconds, the clock /proc and perf
// stamp events with) and its latency in ms, to line a slow stretch up with
// what the machine did then; and, where the disk's stalls were sampled, the
// stall counted during the request's life.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tests/bench/io_stalls.h"
#include "tests/bench/latency_recorder.h"

namespace hart::bench {

// Whether `path` can be written (creating or emptying it), before a run.
absl::Status CheckTimelineWritable(const std::string& path);

// Writes `requests` sorted by send time under the header
// "sent_monotonic_s,<latency_column>[,io_full_stall_ms]", the last column
// only when `io_pressure` holds samples.
absl::Status WriteTimeline(const std::string& path, std::vector<Lifetime> requests,
                           const std::string& latency_column,
                           const std::vector<IoPressureSample>& io_pressure);

}  // namespace hart::bench
