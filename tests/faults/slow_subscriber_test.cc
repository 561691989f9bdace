// Issue #14, "a feed subscriber that reads one event per second while
// 50,000 deliveries queue for its agency": the real hart-broker, one agency
// (hartford-pd) whose subscriber keeps its stream open but reads one event a
// second while careline clients submit intakes that all route to it. The
// broker must hold the backlog in the store, not in memory (its RSS stays
// bounded: the feed writer keeps one page per stream and one write in
// flight, and HTTP/2 flow control stops it while the subscriber does not
// read), and the subscriber, once it reads at full speed on the same
// stream, must get every delivery with contiguous sequence numbers.
//
// ctest runs 5,000 intakes; the long version is
//   HART_SLOW_SUBSCRIBER_BACKLOG=50000 build/tests/faults/slow_subscriber_test
// (HART_SLOW_SUBSCRIBER_SLOW_EVENTS: events read at 1/s after the last
// intake, default 3; HART_SLOW_SUBSCRIBER_GROWTH_MIB: the bound on the growth
// of anonymous memory, default 128; VmRSS, which also counts the pages of
// the store file the broker maps, is reported).
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tests/faults/partner_fault_support.h"
#include "yaml-cpp/yaml.h"

namespace hart::testing {
namespace {

constexpr char kSlowAgency[] = "hartford-pd";
constexpr char kExample[] = "school-sex-trafficking-hartford";
constexpr int kSubmitThreads = 16;

// The Connecticut config with every push partner a feed (push partners are
// partner_outage_test's business; unserved ones would only add deferrals),
// the per-certificate rate limit lifted (one careline certificate submits
// everything) and info logging (debug lines per intake cost more than the
// intakes at this volume).
std::string WriteSlowConfig(const std::string& dir) {
  YAML::Node root = YAML::LoadFile(SourcePath("deploy/config/connecticut.yaml"));
  root["server"]["rate_limit_per_second"] = 1000000;
  root["server"]["rate_limit_burst"] = 1000000;
  for (YAML::Node agency : root["agencies"]) {
    if (agency["adapter"]["type"].as<std::string>() != "grpc_feed") {
      agency["adapter"] = YAML::Load("{type: grpc_feed}");
    }
  }
  const std::string path = dir + "/slow-subscriber.yaml";
  std::ofstream(path) << root << "\n";
  return path;
}

// Submits intakes [first, last) from kSubmitThreads threads, each retrying
// an intake refused as busy (the same careline id: idempotent). Returns the
// delivery ids to `agency`.
std::vector<std::string> SubmitAll(const BrokerProcess& broker, uint64_t first, uint64_t last,
                                   const std::string& agency, size_t* retries) {
  std::mutex mu;
  std::vector<std::string> ids;
  std::atomic<uint64_t> next{first};
  std::atomic<size_t> retried{0};
  std::atomic<size_t> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kSubmitThreads; ++t) {
    threads.emplace_back([&] {
      auto stub = broker.Intake();
      for (uint64_t n = next++; n < last; n = next++) {
        v1::SubmitIntakeRequest request;
        *request.mutable_intake() = FreshIntake(kExample, "Hartford", "SLOW", n);
        for (int attempt = 0;; ++attempt) {
          v1::SubmitIntakeResponse response;
          const grpc::Status status = stub->SubmitIntake(CallContext().get(), request, &response);
          if (status.ok()) {
            std::lock_guard lock(mu);
            for (const auto& d : response.receipt().destinations()) {
              if (d.agency_id() == agency) ids.push_back(d.delivery_id());
            }
            break;
          }
          const bool busy = status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                            status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED;
          if (!busy || attempt >= 20) {
            ++failed;
            break;
          }
          ++retried;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0u) << "intakes refused for good";
  *retries += retried;
  return ids;
}

TEST(SlowSubscriberTest, TheBacklogStaysInTheStoreAndTheSubscriberCatchesUpWithoutAGap) {
  const uint64_t backlog = static_cast<uint64_t>(EnvInt("HART_SLOW_SUBSCRIBER_BACKLOG", 5000));
  const size_t slow_events = static_cast<size_t>(EnvInt("HART_SLOW_SUBSCRIBER_SLOW_EVENTS", 3));
  const uint64_t growth_bound_mib = MemoryBoundMib("HART_SLOW_SUBSCRIBER_GROWTH_MIB", 128);
  const uint64_t warm_up = std::min<uint64_t>(200, backlog / 10);

  TempDir dir;
  ShrinkChildQuarantine();
  BrokerProcess broker(dir.path() + "/data", WriteSlowConfig(dir.path()), {"--log-level", "info"});
  ASSERT_TRUE(broker.running());
  RssSampler rss(broker.pid());

  // Warm-up: TLS sessions, the store's caches and the writer reach their
  // working size before the baseline is taken.
  size_t retries = 0;
  std::vector<std::string> expected = SubmitAll(broker, 0, warm_up, kSlowAgency, &retries);
  ASSERT_EQ(expected.size(), warm_up) << "each intake must route to " << kSlowAgency;
  rss.BeginPhase("warm");
  const Rss baseline = rss.Last();

  // The slow subscriber: one event a second, on one stream throughout. Its
  // receive window stays small, so the backlog waits on the broker's side
  // (gRPC's growing window would let the subscriber's own buffers take
  // megabytes of it, and the broker would look better than it is).
  FeedFollower slow(broker, kSlowAgency, std::chrono::milliseconds(1000),
                    /*ack=*/false, ReceiveWindow::kSmall);
  rss.BeginPhase("queue");
  const auto submit_start = SteadyClock::now();
  std::vector<std::string> more = SubmitAll(broker, warm_up, backlog, kSlowAgency, &retries);
  const auto submit_time = SteadyClock::now() - submit_start;
  expected.insert(expected.end(), more.begin(), more.end());
  ASSERT_EQ(expected.size(), backlog);

  // The slow phase goes on for a few more events at 1/s with everything
  // queued (a condition on what the subscriber read, bounded).
  const size_t read_at_end = slow.delivery_count();
  ASSERT_TRUE(WaitFor([&] { return slow.delivery_count() >= read_at_end + slow_events; },
                      std::chrono::seconds(30 + 2 * slow_events)))
      << "the slow subscriber stopped receiving";
  const size_t read_slowly = slow.delivery_count();

  // Catch-up on the same stream at full speed.
  rss.BeginPhase("catch-up");
  const auto catch_up_start = SteadyClock::now();
  slow.SetPace(std::chrono::milliseconds(0));
  const std::set<std::string> wanted(expected.begin(), expected.end());
  const bool caught_up =
      slow.WaitForIds(wanted, std::chrono::seconds(60 + static_cast<int64_t>(backlog / 100)));
  const auto catch_up_time = SteadyClock::now() - catch_up_start;
  rss.BeginPhase("after");
  const Rss after = rss.Last();
  slow.Stop();

  EXPECT_TRUE(caught_up) << "read " << slow.delivery_count() << " of " << wanted.size();
  const std::vector<std::string> problems = slow.SequenceProblems();
  EXPECT_TRUE(problems.empty()) << problems.size() << " sequence problems, first: "
                                << (problems.empty() ? "" : problems.front());
  EXPECT_EQ(slow.resubscriptions(), 0u);
  const std::vector<FeedArrival> arrivals = slow.Arrivals();
  size_t redeliveries = 0;
  for (const FeedArrival& a : arrivals) redeliveries += a.redelivery ? 1 : 0;
  EXPECT_EQ(arrivals.size() - redeliveries, wanted.size()) << "events beyond the deliveries";
  // The bound is on anonymous memory: what holding the backlog in the
  // broker would grow. File pages of the mapped store are reported.
  const Rss queued = rss.Peak("queue");
  const Rss catch_up = rss.Peak("catch-up");
  const uint64_t anon_peak = std::max({queued.anon, catch_up.anon, after.anon});
  const uint64_t growth = anon_peak > baseline.anon ? anon_peak - baseline.anon : 0;
  EXPECT_LT(growth, growth_bound_mib * 1024)
      << "the broker's anonymous memory grew by " << Mib(growth) << " with the backlog";

  PrintFigures(
      "slow feed subscriber (" + std::string(kSlowAgency) + ", 1 event/s, 64 KiB receive window)",
      {{"deliveries queued for the agency", std::to_string(wanted.size())},
       {"intakes submitted (16 concurrent calls)",
        absl::StrCat(backlog, " in ", Seconds(submit_time))},
       {"intakes retried after a busy answer", std::to_string(retries)},
       {"read at 1/s before catch-up", std::to_string(read_slowly)},
       {"backlog when catch-up began", std::to_string(wanted.size() - read_slowly)},
       {"catch-up (same stream)", Seconds(catch_up_time)},
       {"VmRSS after warm-up (baseline)", Mib(baseline)},
       {"VmRSS peak while queueing + slow phase", Mib(queued)},
       {"VmRSS peak during catch-up", Mib(catch_up)},
       {"VmRSS after catch-up", Mib(after)},
       {"anon growth over baseline, peak (bound)",
        absl::StrCat(Mib(growth), " (", growth_bound_mib, " MiB)")},
       {"sequence gaps / resubscriptions",
        absl::StrCat(problems.size(), " / ", slow.resubscriptions())},
       {"RSS samples", std::to_string(rss.samples())}});
}

}  // namespace
}  // namespace hart::testing
