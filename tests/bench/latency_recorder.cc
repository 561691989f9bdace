#include "absl/status/status.h"
#include "tests/bench/latency_recorder.h"

#include <algorithm>
#include <cmath>

namespace hart::bench {
namespace {

double ToMs(int64_t ns) { return static_cast<double>(ns) / 1e6; }

// Nearest rank: the sample at rank ceil(q * n) (1-based) of the sorted set.
int64_t NearestRank(const std::vector<int64_t>& sorted, double q) {
  const auto n = static_cast<double>(sorted.size());
  auto rank = static_cast<size_t>(std::ceil(q * n));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

}  // namespace

LatencySummary Summarize(std::vector<int64_t>& samples_ns) {
  LatencySummary summary;
  if (samples_ns.empty()) return summary;
  std::sort(samples_ns.begin(), samples_ns.end());
  long double total = 0;
  for (int64_t s : samples_ns) total += s;
  summary.count = samples_ns.size();
  summary.mean_ms = ToMs(static_cast<int64_t>(total / samples_ns.size()));
  summary.p50_ms = ToMs(NearestRank(samples_ns, 0.50));
  summary.p90_ms = ToMs(NearestRank(samples_ns, 0.90));
  summary.p99_ms = ToMs(NearestRank(samples_ns, 0.99));
  summary.p999_ms = ToMs(NearestRank(samples_ns, 0.999));
  summary.max_ms = ToMs(samples_ns.back());
  return summary;
}

std::string StatusCodeName(grpc::StatusCode code) {
  // gRPC and absl share the canonical code numbering.
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

void LatencyRecorder::Record(const grpc::Status& status, BenchClock::time_point start,
                             int64_t latency_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  if (status.ok()) {
    succeeded_.push_back({start, latency_ns});
    return;
  }
  ++errors_;
  const std::string code = StatusCodeName(status.error_code());
  ++errors_by_code_[code];
  first_messages_.try_emplace(code, status.error_message());
}

uint64_t LatencyRecorder::ok() const {
  std::lock_guard<std::mutex> lock(mu_);
  return succeeded_.size();
}

uint64_t LatencyRecorder::errors() const {
  std::lock_guard<std::mutex> lock(mu_);
  return errors_;
}

std::map<std::string, uint64_t> LatencyRecorder::ErrorsByCode() const {
  std::lock_guard<std::mutex> lock(mu_);
  return errors_by_code_;
}

std::map<std::string, std::string> LatencyRecorder::FirstErrorMessages() const {
  std::lock_guard<std::mutex> lock(mu_);
  return first_messages_;
}

LatencySummary LatencyRecorder::Latency() const {
  std::vector<int64_t> latencies_ns;
  {
    std::lock_guard<std::mutex> lock(mu_);
    latencies_ns.reserve(succeeded_.size());
    for (const Lifetime& request : succeeded_) latencies_ns.push_back(request.latency_ns);
  }
  return Summarize(latencies_ns);
}

std::vector<Lifetime> LatencyRecorder::Lifetimes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return succeeded_;
}

}  // namespace hart::bench
