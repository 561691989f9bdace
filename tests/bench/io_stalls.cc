#include "tests/bench/io_stalls.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace hart::bench {
namespace {

// The count at `t`, growing evenly between samples; flat outside them.
double CountAt(const std::vector<IoPressureSample>& samples, BenchClock::time_point t) {
  if (samples.empty()) return 0;
  if (t <= samples.front().at) return static_cast<double>(samples.front().full_us);
  if (t >= samples.back().at) return static_cast<double>(samples.back().full_us);
  const auto after = std::upper_bound(
      samples.begin(), samples.end(), t,
      [](BenchClock::time_point when, const IoPressureSample& s) { return when < s.at; });
  const auto before = after - 1;
  const double span = std::chrono::duration<double>(after->at - before->at).count();
  const double into = std::chrono::duration<double>(t - before->at).count();
  const double grew = static_cast<double>(after->full_us - before->full_us);
  return static_cast<double>(before->full_us) + (span > 0 ? grew * into / span : grew);
}

}  // namespace

absl::StatusOr<int64_t> ParseIoPressureFull(absl::string_view text) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.substr(0, 5) != "full ") continue;
    const size_t at = line.find("total=");
    if (at == absl::string_view::npos) break;
    const absl::string_view digits = line.substr(at + 6);
    int64_t total = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), total);
    if (error != std::errc() || end == digits.data() || total < 0) break;
    return total;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("no \"full ... total=N\" line in the pressure text: \"",
                   text.substr(0, 120), "\""));
}

double StallBetween(const std::vector<IoPressureSample>& samples, BenchClock::time_point from,
                    BenchClock::time_point to) {
  if (to <= from) return 0;
  return std::max(0.0, CountAt(samples, to) - CountAt(samples, from));
}

IoStallSummary SummarizeIoStalls(const std::vector<IoPressureSample>& samples,
                                 BenchClock::time_point window_start,
                                 BenchClock::time_point window_end,
                                 const std::vector<Lifetime>& requests) {
  IoStallSummary summary;
  summary.full_stall_seconds = StallBetween(samples, window_start, window_end) / 1e6;
  // The most stall within a span that starts or ends at a sample: the count
  // is linear in between, so the largest lies at one of them.
  double longest_us = 0;
  for (const IoPressureSample& s : samples) {
    if (s.at < window_start || s.at > window_end) continue;
    const auto span_end = std::min(s.at + kLongestStallSpan, window_end);
    const auto span_start = std::max(s.at - kLongestStallSpan, window_start);
    longest_us = std::max({longest_us, StallBetween(samples, s.at, span_end),
                           StallBetween(samples, span_start, s.at)});
  }
  summary.longest_stall_ms = longest_us / 1e3;
  std::vector<int64_t> less_ns;
  less_ns.reserve(requests.size());
  for (const Lifetime& request : requests) {
    const int64_t stalled_ns = std::llround(
        StallBetween(samples, request.start,
                     request.start + std::chrono::nanoseconds(request.latency_ns)) * 1e3);
    less_ns.push_back(std::max<int64_t>(0, request.latency_ns - stalled_ns));
  }
  summary.latency_less_stalls = Summarize(less_ns);
  return summary;
}

absl::StatusOr<std::unique_ptr<IoPressureSampler>> IoPressureSampler::Start(
    const std::string& path, std::chrono::milliseconds interval) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", path, ": ", std::strerror(errno),
                     " (a kernel without pressure stall information)"));
  }
  std::unique_ptr<IoPressureSampler> sampler(new IoPressureSampler(fd, interval));
  // A file that does not parse fails now, not with an empty summary later.
  if (!sampler->Read()) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " has no \"full ... total=N\" line"));
  }
  sampler->thread_ = std::thread([s = sampler.get()] { s->Run(); });
  return sampler;
}

IoPressureSampler::IoPressureSampler(int fd, std::chrono::milliseconds interval)
    : fd_(fd), interval_(interval) {}

IoPressureSampler::~IoPressureSampler() {
  Stop();
  ::close(fd_);
}

std::optional<IoPressureSample> IoPressureSampler::Read() const {
  char text[256];
  // The file is read again from its start each time: the kernel renders it
  // afresh at offset 0.
  const ssize_t n = ::pread(fd_, text, sizeof text - 1, 0);
  const auto at = BenchClock::now();
  if (n <= 0) return std::nullopt;
  auto full = ParseIoPressureFull(absl::string_view(text, static_cast<size_t>(n)));
  if (!full.ok()) return std::nullopt;
  return IoPressureSample{at, *full};
}

void IoPressureSampler::Run() {
  while (!stopping_.load()) {
    if (auto sample = Read()) samples_.push_back(*sample);
    std::this_thread::sleep_for(interval_);
  }
  if (auto sample = Read()) samples_.push_back(*sample);
}

std::vector<IoPressureSample> IoPressureSampler::Stop() {
  stopping_.store(true);
  if (thread_.joinable()) thread_.join();
  return samples_;
}

}  // namespace hart::bench
