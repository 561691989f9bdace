// Collects the outcome of every measured request: latency samples of the
// successful ones and error counts by gRPC status code. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "grpcpp/support/status.h"

namespace hart::bench {

using BenchClock = std::chrono::steady_clock;  // CLOCK_MONOTONIC on Linux

// One measured request's life: when it was sent (open loop: when it was
// due) and how long it took.
struct Lifetime {
  BenchClock::time_point start;
  int64_t latency_ns = 0;
};

// Percentiles of a set of latency samples, in milliseconds.
struct LatencySummary {
  uint64_t count = 0;
  double mean_ms = 0;
  double p50_ms = 0;
  double p90_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  double max_ms = 0;
};

// Summarises `samples_ns` (reordered in place). Percentiles use the
// nearest-rank method: p99 is the smallest sample >= 99% of all samples.
LatencySummary Summarize(std::vector<int64_t>& samples_ns);

// "OK", "UNAVAILABLE", ... for a gRPC status code.
std::string StatusCodeName(grpc::StatusCode code);

class LatencyRecorder {
 public:
  // Records one finished request sent at `start`: its latency if `status`
  // is OK, else an error under its code (the first message per code is
  // kept for reports).
  void Record(const grpc::Status& status, BenchClock::time_point start, int64_t latency_ns);

  uint64_t ok() const;
  uint64_t errors() const;
  std::map<std::string, uint64_t> ErrorsByCode() const;
  // The first error message seen for each code.
  std::map<std::string, std::string> FirstErrorMessages() const;
  LatencySummary Latency() const;
  // Every successful request's life, in the order they finished.
  std::vector<Lifetime> Lifetimes() const;

 private:
  mutable std::mutex mu_;
  std::vector<Lifetime> succeeded_;
  uint64_t errors_ = 0;
  std::map<std::string, uint64_t> errors_by_code_;
  std::map<std::string, std::string> first_messages_;
};

}  // namespace hart::bench
