#include "tests/bench/idle_subscribers.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>

#include "absl/strings/str_format.h"
#include "hart/referral/v1/feed.grpc.pb.h"
#include "tests/bench/bench_broker.h"
#include "tests/bench/latency_recorder.h"
#include "tests/bench/load_driver.h"
#include "tests/bench/process_stats.h"
#include "tests/bench/tls_credentials.h"

namespace hart::bench {
namespace {

namespace rv1 = hart::referral::v1;
constexpr int kStreamsPerConnection = 90;

int Fail(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "hart-bench: error: %s: %s\n", what.c_str(),
               std::string(status.message()).c_str());
  return 1;
}

// Counts streams that received their first event and streams that ended.
struct StreamTally {
  std::mutex mu;
  std::condition_variable changed;
  int open = 0;
  int ended = 0;
  int failed = 0;  // ended by the broker or the network, not by our cancel
  std::map<std::string, std::string> first_errors;
};

// One idle Subscribe stream: reads forever, counting its first event.
class IdleStream : public grpc::ClientReadReactor<rv1::FeedEvent> {
 public:
  IdleStream(rv1::FeedService::Stub* stub, StreamTally& tally) : tally_(tally) {
    stub->async()->Subscribe(&context_, &request_, this);
    StartRead(&event_);
    StartCall();
  }
  void Cancel() { context_.TryCancel(); }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows
    if (!counted_) {
      counted_ = true;
      std::lock_guard<std::mutex> lock(tally_.mu);
      ++tally_.open;
      tally_.changed.notify_all();
    }
    StartRead(&event_);
  }
  void OnDone(const grpc::Status& status) override {
    std::lock_guard<std::mutex> lock(tally_.mu);
    ++tally_.ended;
    if (status.error_code() != grpc::StatusCode::CANCELLED) {
      ++tally_.failed;
      tally_.first_errors.emplace(StatusCodeName(status.error_code()), status.error_message());
    }
    tally_.changed.notify_all();
  }

 private:
  StreamTally& tally_;
  grpc::ClientContext context_;
  rv1::SubscribeRequest request_;
  rv1::FeedEvent event_;
  bool counted_ = false;
};

}  // namespace

int RunIdle(const BenchConfig& c) {
  auto agencies = BenchAgencies(c, /*make_certs=*/true);
  if (!agencies.ok()) return Fail("reading the agencies of --config", agencies.status());
  const std::vector<std::string> feed_ids = FeedAgencyIds(*agencies);
  if (feed_ids.empty()) {
    return Fail("idle", absl::FailedPreconditionError(c.config + " has no grpc_feed agency"));
  }
  auto started = StartBenchBroker(c, kLiftedStreamsPerIdentity);
  if (!started.ok()) return Fail("starting the broker", started.status());
  BrokerLauncher& broker = *started->launcher;
  const std::string target = "127.0.0.1:" + std::to_string(broker.port());
  const auto before = SampleProcess(broker.pid());

  // Stream i subscribes as feed agency i mod n; each agency's streams share
  // connections of at most kStreamsPerConnection.
  const int n = c.subscribers;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<rv1::FeedService::Stub>> stubs;
  std::vector<int> stub_of_stream(static_cast<size_t>(n));
  for (size_t a = 0; a < feed_ids.size(); ++a) {
    const int streams = n / static_cast<int>(feed_ids.size()) +
                        (static_cast<int>(a) < n % static_cast<int>(feed_ids.size()) ? 1 : 0);
    if (streams == 0) continue;
    const std::string name = "agency-" + feed_ids[a];
    auto credentials = ClientCredentials(c.certs_dir, name);
    if (!credentials.ok()) return Fail("credentials of " + name, credentials.status());
    const size_t first_stub = stubs.size();
    for (int k = 0; k * kStreamsPerConnection < streams; ++k) {
      channels.push_back(DistinctChannel(target, *credentials, name, k));
      stubs.push_back(rv1::FeedService::NewStub(channels.back()));
    }
    int j = 0;
    for (int i = static_cast<int>(a); i < n; i += static_cast<int>(feed_ids.size()), ++j) {
      stub_of_stream[static_cast<size_t>(i)] =
          static_cast<int>(first_stub) + j / kStreamsPerConnection;
    }
  }
  Progress(absl::StrFormat("opening %d feed streams as %d agencies over %d connections", n,
                           std::min<size_t>(feed_ids.size(), static_cast<size_t>(n)),
                           channels.size()));
  if (auto s = WaitForConnected(channels,
                                std::chrono::system_clock::now() + std::chrono::seconds(120),
                                "feed");
      !s.ok()) {
    return Fail("connecting", s);
  }
  const auto open_start = BenchClock::now();
  StreamTally tally;
  std::vector<std::unique_ptr<IdleStream>> streams;
  streams.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    streams.push_back(std::make_unique<IdleStream>(
        stubs[static_cast<size_t>(stub_of_stream[static_cast<size_t>(i)])].get(), tally));
  }
  bool all_open = false;
  {
    std::unique_lock<std::mutex> lock(tally.mu);
    all_open = tally.changed.wait_for(lock, std::chrono::seconds(180), [&] {
      return tally.open == n || tally.ended > 0;
    }) && tally.open == n;
  }
  const double open_s = std::chrono::duration<double>(BenchClock::now() - open_start).count();
  Progress(absl::StrFormat("%d of %d streams open after %.1f s; holding them %g s", tally.open, n,
                           open_s, c.duration_seconds));

  // Held idle for --duration: the broker's RSS and CPU over that window.
  const auto held_start = SampleProcess(broker.pid());
  {
    std::unique_lock<std::mutex> lock(tally.mu);
    tally.changed.wait_for(
        lock, std::chrono::nanoseconds(static_cast<int64_t>(c.duration_seconds * 1e9)),
        [&] { return tally.ended > 0; });
  }
  const auto held_end = SampleProcess(broker.pid());

  for (auto& stream : streams) stream->Cancel();
  {
    std::unique_lock<std::mutex> lock(tally.mu);
    tally.changed.wait_for(lock, std::chrono::seconds(60), [&] { return tally.ended == n; });
  }
  const bool all_ended = [&] {
    std::lock_guard<std::mutex> lock(tally.mu);
    return tally.ended == n;
  }();
  int exit_status = all_open ? 0 : 1;
  if (auto s = broker.Stop(); !s.ok()) exit_status = Fail("stopping the broker", s);
  if (!all_ended) {
    // Reactors still running must outlive this function: leak them on
    // purpose rather than free what gRPC may still call.
    for (auto& stream : streams) (void)stream.release();
  }

  const double cpu = held_start && held_end ? held_end->cpu_seconds - held_start->cpu_seconds : -1;
  std::printf("idle: %d feed streams (%d open, %d failed) over %zu connections\n", n, tally.open,
              tally.failed, channels.size());
  std::printf("  all open after      %.1f s\n", open_s);
  if (before) std::printf("  broker RSS before   %.1f MiB\n", before->rss_mib);
  if (held_end) {
    std::printf("  broker RSS held     %.1f MiB (peak %.1f MiB, %d threads)\n", held_end->rss_mib,
                held_end->peak_rss_mib, held_end->threads);
    std::printf("  broker CPU held     %.2f s over %g s\n", cpu, c.duration_seconds);
  }
  for (const auto& [code, message] : tally.first_errors) {
    std::printf("  stream ended %s: %s\n", code.c_str(), message.c_str());
  }
  std::cout << absl::StrFormat(
                   "{\"mode\":\"idle\",\"subscribers\":%d,\"open\":%d,\"failed\":%d,"
                   "\"connections\":%d,\"open_s\":%.2f,\"held_s\":%g,"
                   "\"broker_rss_before_mib\":%s,\"broker_rss_mib\":%s,"
                   "\"broker_peak_rss_mib\":%s,\"broker_cpu_held_s\":%s}",
                   n, tally.open, tally.failed, channels.size(), open_s, c.duration_seconds,
                   before ? absl::StrFormat("%.1f", before->rss_mib) : "null",
                   held_end ? absl::StrFormat("%.1f", held_end->rss_mib) : "null",
                   held_end ? absl::StrFormat("%.1f", held_end->peak_rss_mib) : "null",
                   cpu >= 0 ? absl::StrFormat("%.2f", cpu) : "null")
            << std::endl;
  return exit_status;
}

}  // namespace hart::bench
