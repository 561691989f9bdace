// Failover through the real binaries: three hart-broker replicas (A, B, C)
// on one PostgreSQL database take intakes round robin from several careline
// clients while feed partners, each subscribed to its own replica,
// acknowledge every delivery and a webhook partner takes pushes. Then one
// fault per test:
//   1. kill -9 of a replica while it holds claimed pushes and serves feeds;
//   2. the PostgreSQL server restarted;
//   3. every broker connection to the database killed (pg_terminate_backend).
// Afterwards (failover_checks.h): no acknowledged intake lost, every
// delivery reached its partner (duplicates only under the same delivery
// id), no feed skipped a sequence number, no call hung, and `hartctl audit
// verify` passes. Each test prints its figures as a small table.
//
// The binary starts its own PostgreSQL server, not PostgresServer::Shared():
// test 2 restarts it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <set>

#include "tests/e2e/failover_checks.h"

namespace hart::testing {
namespace {

// Load before the fault, and after it (at least this many acknowledged
// intakes more): tens of intakes each, so the binary stays well within its
// time budget under ASan on two cores.
constexpr size_t kBeforeFault = 30;
constexpr size_t kAfterFault = 40;
constexpr int kClientThreads = 4;
// Bounds on the load reaching those counts (a cold ASan broker is slow).
constexpr auto kLoadBound = std::chrono::seconds(40);

class FailoverE2ETest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    PostgresServerOptions options;
    // A restart here is a clean fast shutdown, which flushes everything
    // committed: durability against power loss is not what is tested, and
    // fsync on a shared CI disk would only slow the load down.
    options.fsync = false;
    auto started = PostgresServer::Start(options);
    if (started.ok()) {
      server_ = std::move(*started);
    } else {
      start_error_ = started.status();
    }
  }
  static void TearDownTestSuite() { server_.reset(); }

  void SetUp() override {
    ASSERT_NE(server_, nullptr) << start_error_;
    auto database = server_->CreateDatabase("failover");
    ASSERT_TRUE(database.ok()) << database.status();
    database_ = *database;
    auto webhook = WebhookPartner::Start(dir_.path() + "/webhook");
    ASSERT_TRUE(webhook.ok()) << webhook.status();
    webhook_ = std::move(*webhook);
    cluster_ = std::make_unique<ReplicaCluster>(dir_.path(), *server_, database_, *webhook_);
    ASSERT_TRUE(cluster_->ok());
    feeds_ = std::make_unique<FeedPartners>(*cluster_);
  }

  void TearDown() override {
    load_.reset();
    if (feeds_) feeds_->StopAll();
    if (HasFailure() && cluster_) std::cout << cluster_->LogTails() << std::endl;
    cluster_.reset();
    webhook_.reset();
  }

  void StartLoad(const std::string& scenario) {
    load_ = std::make_unique<IntakeLoad>(*cluster_, *feeds_, scenario, kClientThreads);
  }

  // Bounded: true once `n` intakes were acknowledged in all.
  bool WaitForAcknowledged(size_t n) {
    return WaitFor([&] { return load_->acknowledged() >= n; }, kLoadBound);
  }

  // Lets the load run on until kAfterFault more intakes were acknowledged,
  // stops it, checks and prints the scenario, and verifies the audit log
  // through a live replica.
  void Finish(const std::string& scenario, SteadyTime fault_at) {
    EXPECT_TRUE(WaitForAcknowledged(load_->acknowledged() + kAfterFault))
        << scenario << ": the load did not pick up again after the fault";
    load_->Stop();
    const ScenarioReport report =
        CheckScenario(scenario, *cluster_, *load_, *feeds_, *webhook_, fault_at);
    PrintReport(report);
    ExpectClean(report);
    const SteadyTime verify_from = std::chrono::steady_clock::now();
    const CommandOutput audit = cluster_->VerifyAudit(cluster_->Pick(0));
    EXPECT_EQ(audit.exit_code, 0) << scenario << ": hartctl audit verify:\n" << audit.text;
    std::printf("  hartctl audit verify: %s after %.1fs\n", audit.exit_code == 0 ? "OK" : "FAILED",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - verify_from)
                    .count());
  }

  static std::unique_ptr<PostgresServer> server_;
  static absl::Status start_error_;
  TempDir dir_;
  std::string database_;
  std::unique_ptr<WebhookPartner> webhook_;
  std::unique_ptr<ReplicaCluster> cluster_;
  std::unique_ptr<FeedPartners> feeds_;
  std::unique_ptr<IntakeLoad> load_;
};

std::unique_ptr<PostgresServer> FailoverE2ETest::server_;
absl::Status FailoverE2ETest::start_error_;

// Delivery ids of the webhook partner's POSTs from index `from` on, sent by
// the replica whose ack endpoint is `ack_port` (or, with `from_others`, by
// any other replica).
std::set<std::string> PostedBy(const WebhookPartner& webhook, size_t from, int ack_port,
                               bool from_others) {
  std::set<std::string> ids;
  const std::vector<WebhookPost> posts = webhook.Posts();
  for (size_t i = from; i < posts.size(); ++i) {
    if ((posts[i].ack_port == ack_port) != from_others) ids.insert(posts[i].delivery_id);
  }
  return ids;
}

TEST_F(FailoverE2ETest, KillNineOfAReplicaMidDeliveryLosesNothing) {
  StartLoad("kill");
  ASSERT_TRUE(WaitForAcknowledged(kBeforeFault));
  // From now on the partner keeps the next replica to push waiting (its own
  // timeout is 5 s): the kill catches that replica holding their claims.
  const size_t hold_from = webhook_->HoldRepliesFromNextSender();
  ASSERT_TRUE(PollFor([&] { return webhook_->held_ack_port() != 0; }, kLoadBound))
      << "no replica pushed anything";
  const int victim_port = webhook_->held_ack_port();
  int victim = -1;
  for (int i = 0; i < cluster_->size(); ++i) {
    if (cluster_->ack_port(i) == victim_port) victim = i;
  }
  ASSERT_GE(victim, 0) << "a push carrying an unknown ack port " << victim_port;
  const SteadyTime fault_at = std::chrono::steady_clock::now();
  cluster_->Kill(victim);
  const std::set<std::string> held = PostedBy(*webhook_, hold_from, victim_port, false);
  const std::string scenario = "kill -9 " + ReplicaCluster::Name(victim);

  Finish(scenario, fault_at);
  // The victim's claims expired and the others pushed each of those
  // deliveries again.
  const bool rescued = PollFor(
      [&] {
        const std::set<std::string> others = PostedBy(*webhook_, hold_from, victim_port, true);
        for (const auto& id : held) {
          if (!others.count(id)) return false;
        }
        return true;
      },
      std::chrono::seconds(30));
  EXPECT_TRUE(rescued) << "pushes claimed by the killed replica were never sent again";
  EXPECT_FALSE(held.empty());
  // The partners the victim served found another replica and resumed from
  // their cursor, not from the start (the gap check above shows nothing was
  // skipped doing so).
  size_t resubscribed = 0;
  uint64_t furthest_resume = 0;
  for (const FeedPartner* partner : feeds_->All()) {
    for (uint64_t cursor : partner->ResumedAfter()) {
      ++resubscribed;
      furthest_resume = std::max(furthest_resume, cursor);
    }
  }
  EXPECT_GT(resubscribed, 0u);
  EXPECT_GT(furthest_resume, 0u) << "no partner resumed from a cursor";
  std::printf("  pushes held by the victim, then sent again by the others: %zu; feed "
              "resubscriptions: %zu (furthest resume_after %llu)\n",
              held.size(), resubscribed, static_cast<unsigned long long>(furthest_resume));
}

TEST_F(FailoverE2ETest, PostgresRestartedUnderLoadLosesNothingAndNoCallHangs) {
  StartLoad("pg-restart");
  ASSERT_TRUE(WaitForAcknowledged(kBeforeFault));
  const SteadyTime fault_at = std::chrono::steady_clock::now();
  const absl::Status restarted = server_->Restart();
  ASSERT_TRUE(restarted.ok()) << restarted;
  const double down_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - fault_at).count();
  Finish("postgres restart", fault_at);
  std::printf("  PostgreSQL down (fast shutdown to accepting again): %.2fs\n", down_s);
}

TEST_F(FailoverE2ETest, BrokerConnectionsTerminatedUnderLoadLoseNothing) {
  StartLoad("terminate");
  ASSERT_TRUE(WaitForAcknowledged(kBeforeFault));
  // Three rounds, a few intakes apart, so some land mid-transaction.
  // Recovery counts from the last.
  SteadyTime fault_at;
  int terminated = 0;
  for (int round = 0; round < 3; ++round) {
    const size_t before = load_->acknowledged();
    fault_at = std::chrono::steady_clock::now();
    auto ended = server_->TerminateBackends(database_);
    ASSERT_TRUE(ended.ok()) << ended.status();
    terminated += *ended;
    ASSERT_TRUE(WaitForAcknowledged(before + 5)) << "no intake taken after round " << round;
  }
  EXPECT_GT(terminated, 0);
  Finish("pg_terminate_backend", fault_at);
  std::printf("  broker sessions terminated: %d\n", terminated);
}

}  // namespace
}  // namespace hart::testing
