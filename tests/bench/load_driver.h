// Drives asynchronous requests in one of two ways and records their outcome:
//  - closed loop: `concurrency` requests always in flight; each completion
//    starts the next one; latency runs from the actual send;
//  - open loop: sends at fixed intervals (`rate` per second) whatever the
//    responses do; latency runs from the *intended* send time, so a stall of
//    the server (or of this client) shows up in the percentiles instead of
//    silently lowering the offered load (no coordinated omission). When
//    `max_in_flight` requests are outstanding, a due send is counted as
//    dropped instead of blocking.
// The run stops at warmup + duration or after max_requests sends, whichever
// comes first; requests sent during the warm-up are not recorded.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "grpcpp/support/status.h"
#include "tests/bench/latency_recorder.h"

namespace hart::bench {

// Called exactly once per request, on any thread, when it finished.
using DoneFn = std::function<void(const grpc::Status&)>;
// Starts request number `index` asynchronously. `start` is the send time
// latency is measured from; `measured` is false during the warm-up.
using IssueFn =
    std::function<void(uint64_t index, BenchClock::time_point start, bool measured, DoneFn done)>;

struct LoadOptions {
  int concurrency = 64;        // closed loop: requests in flight
  double rate = 0;             // > 0: open loop, requests per second
  int max_in_flight = 4096;    // open loop: beyond this, due sends are dropped
  std::chrono::nanoseconds warmup{std::chrono::seconds(1)};
  std::chrono::nanoseconds duration{std::chrono::seconds(10)};
  uint64_t max_requests = 200000;  // sends in total, warm-up included
  // How long to wait for requests still in flight when sending stopped.
  std::chrono::nanoseconds drain_timeout{std::chrono::seconds(15)};
  // When set and true (e.g. from a SIGINT handler), sending stops early;
  // it is polled every 100 ms at most.
  const std::atomic<bool>* interrupted = nullptr;
};

struct LoadResult {
  BenchClock::time_point started;
  BenchClock::time_point measure_start;  // end of the warm-up
  BenchClock::time_point load_end;       // sending stopped
  double measured_seconds = 0;  // measure_start .. last completion of a measured request
  uint64_t sent = 0;            // every request sent, warm-up included
  uint64_t measured_sent = 0;   // sent after the warm-up
  uint64_t dropped = 0;         // open loop: measured sends skipped at max_in_flight
  uint64_t unfinished = 0;      // still in flight when drain_timeout ran out
  double schedule_lag_max_ms = 0;  // open loop: worst (actual - intended) send time
  std::string stopped_by;          // "duration", "max_requests" or "interrupt"
};

// Runs the load; `on_measure_start` is called (on the calling thread) when
// the warm-up ends, e.g. to sample the server's CPU time.
LoadResult RunLoad(const LoadOptions& options, const IssueFn& issue, LatencyRecorder& recorder,
                   const std::function<void()>& on_measure_start);

}  // namespace hart::bench
