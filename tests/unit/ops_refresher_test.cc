// The state gauges and their refresher: every figure of the store's
// snapshot and of the broker's memory reaches its gauge, a refresh follows
// every interval after the previous read answered, a failed or refused read
// is counted and keeps the last values, and a stopped refresher schedules
// nothing and ends the store read in progress. Time and scheduling are
// manual; the store read runs on a real executor, so the tests wait
// (bounded) for it to answer.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "broker/metrics/broker_metrics.h"
#include "broker/metrics/ops_refresher.h"
#include "tests/support/manual_scheduler.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/test_support.h"

namespace hart::metrics {
namespace {

using ::testing::Optional;
using hart::testing::ManualScheduler;
using hart::testing::SampleValue;
using hart::testing::TestNow;
using hart::testing::WaitFor;

class FakeOpsStore final : public OpsSnapshotStore {
 public:
  absl::StatusOr<OpsSnapshot> ReadOpsSnapshot(absl::Time now) override {
    absl::MutexLock lock(&mu_);
    if (stopped_) return absl::CancelledError("stopped");
    read_at_.push_back(now);
    if (clock_ != nullptr) clock_->Advance(takes_);
    if (block_until_stopped_) {
      // A count over a large backlog: it ends when the store is told to
      // stop (bounded, so a broken refresher fails the test, not hangs it).
      reading_ = true;
      mu_.AwaitWithTimeout(absl::Condition(&stopped_), absl::Seconds(30));
      reading_ = false;
      return absl::CancelledError("stopped");
    }
    return answer_;
  }
  void StopOpsSnapshotReads() override {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
  }
  void BlockUntilStopped() {
    absl::MutexLock lock(&mu_);
    block_until_stopped_ = true;
  }
  bool reading() {
    absl::MutexLock lock(&mu_);
    return reading_;
  }
  bool stopped() {
    absl::MutexLock lock(&mu_);
    return stopped_;
  }
  // Each read advances `clock` by `takes`.
  void Takes(ManualClock* clock, absl::Duration takes) {
    absl::MutexLock lock(&mu_);
    clock_ = clock;
    takes_ = takes;
  }
  void Answer(absl::StatusOr<OpsSnapshot> answer) {
    absl::MutexLock lock(&mu_);
    answer_ = std::move(answer);
  }
  std::vector<absl::Time> read_at() {
    absl::MutexLock lock(&mu_);
    return read_at_;
  }

 private:
  absl::Mutex mu_;
  absl::StatusOr<OpsSnapshot> answer_ ABSL_GUARDED_BY(mu_) = OpsSnapshot{};
  std::vector<absl::Time> read_at_ ABSL_GUARDED_BY(mu_);
  ManualClock* clock_ ABSL_GUARDED_BY(mu_) = nullptr;
  absl::Duration takes_ ABSL_GUARDED_BY(mu_);
  bool block_until_stopped_ ABSL_GUARDED_BY(mu_) = false;
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

OpsSnapshot ExampleSnapshot() {
  OpsSnapshot s;
  s.deliveries[{v1::PENDING, v1::NCMEC, v1::REFERRAL}] = 2;
  s.deliveries[{v1::IN_FLIGHT, v1::LOCAL_LAW_ENFORCEMENT, v1::REFERRAL}] = 3;
  s.deliveries[{v1::ACKNOWLEDGED, v1::LOCAL_LAW_ENFORCEMENT, v1::REFERRAL}] = 40;
  s.oldest_undelivered_created_at = TestNow() - absl::Minutes(10);
  s.overdue[v1::NCMEC] = 1;
  s.dead_letters[v1::MDT] = 4;
  s.audit_tree_size = 321;
  s.last_checkpoint_at = TestNow() - absl::Hours(1);
  return s;
}

RuntimeSample ExampleSample() {
  RuntimeSample sample;
  sample.executor_queue_length = 7;
  sample.executor_capacity = 4096;
  sample.executor_refused = 5;
  AdapterHealth down;
  down.agency_id = "ncmec";
  down.adapter_type = "ncmec";
  down.state = AdapterHealth::State::kCircuitOpen;
  down.consecutive_failures = 6;
  down.queued = 2;
  down.call_time = absl::Milliseconds(1500);
  sample.push_destinations = {down};
  sample.feed_subscribers = {{"hartford-pd", 2}};
  return sample;
}

class OpsRefresherTest : public ::testing::Test {
 protected:
  OpsRefresherTest() { store_.Answer(ExampleSnapshot()); }

  std::unique_ptr<OpsRefresher> MakeRefresher(StoreExecutor& executor) {
    return std::make_unique<OpsRefresher>(
        metrics_.gauges(), store_, executor, scheduler_, clock_,
        [this] {
          absl::MutexLock lock(&sample_mu_);
          return sample_;
        },
        absl::Seconds(5));
  }
  // Runs the refresh due now and waits for its store read to answer (the
  // next refresh is then scheduled).
  void RefreshNow() {
    ASSERT_EQ(scheduler_.RunDue(), 1u);
    ASSERT_TRUE(WaitFor([this] { return scheduler_.pending() == 1; }));
  }
  std::optional<double> Value(const std::string& series) {
    return SampleValue(metrics_.Scrape(), series);
  }

  BrokerMetrics metrics_{BrokerMetricsOptions{"1.2.3", "policy-7", "sqlite", {60, 3600}}};
  ManualClock clock_{TestNow()};
  ManualScheduler scheduler_{clock_};
  FakeOpsStore store_;
  StoreExecutor executor_{{.threads = 1, .queue_limit = 8}};
  absl::Mutex sample_mu_;
  RuntimeSample sample_ ABSL_GUARDED_BY(sample_mu_) = ExampleSample();
};

TEST_F(OpsRefresherTest, SetsEveryStateGaugeFromTheSnapshotAndTheSample) {
  auto refresher = MakeRefresher(executor_);
  refresher->Start();
  ASSERT_NO_FATAL_FAILURE(RefreshNow());
  EXPECT_THAT(store_.read_at(), ::testing::ElementsAre(TestNow()));

  EXPECT_THAT(Value("hart_deliveries{agency_kind=\"ncmec\",message_kind=\"referral\","
                    "state=\"pending\"}"),
              Optional(2.0));
  EXPECT_THAT(Value("hart_deliveries{agency_kind=\"local_law_enforcement\","
                    "message_kind=\"referral\",state=\"acknowledged\"}"),
              Optional(40.0));
  EXPECT_THAT(Value("hart_outbox_depth"), Optional(5.0));
  EXPECT_THAT(Value("hart_outbox_oldest_age_seconds"), Optional(600.0));
  EXPECT_THAT(Value("hart_deliveries_overdue{agency_kind=\"ncmec\"}"), Optional(1.0));
  EXPECT_THAT(Value("hart_deliveries_overdue{agency_kind=\"cac\"}"), Optional(0.0));
  EXPECT_THAT(Value("hart_dead_letters{agency_kind=\"mdt\"}"), Optional(4.0));
  EXPECT_THAT(Value("hart_audit_tree_size"), Optional(321.0));
  EXPECT_THAT(Value("hart_audit_last_checkpoint_age_seconds"), Optional(3600.0));
  EXPECT_THAT(Value("hart_ops_snapshot_timestamp_seconds"),
              Optional(absl::ToDoubleSeconds(TestNow() - absl::UnixEpoch())));
  EXPECT_THAT(Value("hart_store_executor_queue_length"), Optional(7.0));
  EXPECT_THAT(Value("hart_store_executor_queue_capacity"), Optional(4096.0));
  EXPECT_THAT(Value("hart_store_executor_rejected_total"), Optional(5.0));
  EXPECT_THAT(Value("hart_push_circuit_state{adapter_type=\"ncmec\",agency_id=\"ncmec\","
                    "state=\"circuit_open\"}"),
              Optional(1.0));
  EXPECT_THAT(Value("hart_push_circuit_state{adapter_type=\"ncmec\",agency_id=\"ncmec\","
                    "state=\"up\"}"),
              Optional(0.0));
  EXPECT_THAT(Value("hart_push_consecutive_failures{adapter_type=\"ncmec\",agency_id=\"ncmec\"}"),
              Optional(6.0));
  EXPECT_THAT(Value("hart_push_queued{adapter_type=\"ncmec\",agency_id=\"ncmec\"}"),
              Optional(2.0));
  EXPECT_THAT(Value("hart_push_call_seconds{adapter_type=\"ncmec\",agency_id=\"ncmec\"}"),
              Optional(1.5));
  EXPECT_THAT(Value("hart_feed_subscribers{agency_id=\"hartford-pd\"}"), Optional(2.0));
  EXPECT_THAT(Value("hart_build_info{policy_version=\"policy-7\",store_backend=\"sqlite\","
                    "version=\"1.2.3\"}"),
              Optional(1.0));
}

// Verifies the next refresh comes one interval after the previous read
// answered, and that what is gone since reads 0 instead of vanishing.
TEST_F(OpsRefresherTest, RefreshesEveryIntervalAndZeroesWhatIsGone) {
  auto refresher = MakeRefresher(executor_);
  refresher->Start();
  ASSERT_NO_FATAL_FAILURE(RefreshNow());
  EXPECT_EQ(scheduler_.NextDue(), TestNow() + absl::Seconds(5));

  OpsSnapshot later = ExampleSnapshot();
  later.deliveries.erase({v1::PENDING, v1::NCMEC, v1::REFERRAL});
  later.dead_letters.clear();
  later.oldest_undelivered_created_at.reset();
  store_.Answer(later);
  {
    absl::MutexLock lock(&sample_mu_);
    sample_.feed_subscribers.clear();
    sample_.executor_refused = 9;
  }
  clock_.Advance(absl::Seconds(4));
  EXPECT_EQ(scheduler_.RunDue(), 0u);  // not yet
  clock_.Advance(absl::Seconds(1));
  ASSERT_NO_FATAL_FAILURE(RefreshNow());
  EXPECT_EQ(store_.read_at().size(), 2u);
  EXPECT_THAT(Value("hart_deliveries{agency_kind=\"ncmec\",message_kind=\"referral\","
                    "state=\"pending\"}"),
              Optional(0.0));
  EXPECT_THAT(Value("hart_dead_letters{agency_kind=\"mdt\"}"), Optional(0.0));
  EXPECT_THAT(Value("hart_outbox_oldest_age_seconds"), Optional(0.0));
  EXPECT_THAT(Value("hart_outbox_depth"), Optional(3.0));
  EXPECT_THAT(Value("hart_feed_subscribers{agency_id=\"hartford-pd\"}"), Optional(0.0));
  EXPECT_THAT(Value("hart_store_executor_rejected_total"), Optional(9.0));
}

// Verifies a slow store read spaces the refreshes out (to 2 % of the
// time, at most 30 s apart) and a quick one brings them back to the
// interval.
TEST_F(OpsRefresherTest, ASlowReadSpacesTheNextRefreshesOut) {
  auto refresher = MakeRefresher(executor_);
  auto refresh_taking = [&](absl::Duration takes) {
    store_.Takes(&clock_, takes);
    const absl::Time started = clock_.Now();
    RefreshNow();
    const absl::Duration next = *scheduler_.NextDue() - (started + takes);
    clock_.Set(*scheduler_.NextDue());
    return next;
  };
  refresher->Start();
  EXPECT_EQ(refresh_taking(absl::Milliseconds(200)), absl::Seconds(10));
  EXPECT_EQ(refresh_taking(absl::Seconds(1)), absl::Seconds(30));
  EXPECT_EQ(refresh_taking(absl::Milliseconds(10)), absl::Seconds(5));
}

TEST_F(OpsRefresherTest, AFailedReadIsCountedAndKeepsTheLastValues) {
  auto refresher = MakeRefresher(executor_);
  refresher->Start();
  ASSERT_NO_FATAL_FAILURE(RefreshNow());
  store_.Answer(absl::UnavailableError("database unreachable"));
  clock_.Advance(absl::Seconds(5));
  ASSERT_NO_FATAL_FAILURE(RefreshNow());
  EXPECT_THAT(Value("hart_ops_snapshot_failures_total"), Optional(1.0));
  EXPECT_THAT(Value("hart_audit_tree_size"), Optional(321.0));
  EXPECT_THAT(Value("hart_ops_snapshot_timestamp_seconds"),
              Optional(absl::ToDoubleSeconds(TestNow() - absl::UnixEpoch())));
}

// Verifies a refresh the executor refuses (full, or shutting down) is a
// failed read, answered at once, and the refreshes go on.
TEST_F(OpsRefresherTest, ARefusedReadIsCountedAndTheRefreshesGoOn) {
  StoreExecutor stopped;
  stopped.Shutdown();
  auto refresher = MakeRefresher(stopped);
  refresher->Start();
  EXPECT_EQ(scheduler_.RunDue(), 1u);
  EXPECT_THAT(Value("hart_ops_snapshot_failures_total"), Optional(1.0));
  EXPECT_EQ(scheduler_.pending(), 1u);
  EXPECT_TRUE(store_.read_at().empty());
  // Memory was still sampled.
  EXPECT_THAT(Value("hart_store_executor_queue_length"), Optional(7.0));
}

TEST_F(OpsRefresherTest, AStoppedRefresherLeavesNothingScheduled) {
  auto refresher = MakeRefresher(executor_);
  refresher->Start();
  ASSERT_NO_FATAL_FAILURE(RefreshNow());
  refresher.reset();
  EXPECT_EQ(scheduler_.pending(), 0u);
  clock_.Advance(absl::Minutes(1));
  EXPECT_EQ(scheduler_.RunDue(), 0u);
  EXPECT_EQ(store_.read_at().size(), 1u);
}

// A stopping broker does not wait out a long count: the refresher asks the
// store to end the read in progress, then waits only for that.
TEST_F(OpsRefresherTest, AStoppedRefresherEndsTheStoreReadInProgress) {
  store_.BlockUntilStopped();
  auto refresher = MakeRefresher(executor_);
  refresher->Start();
  ASSERT_EQ(scheduler_.RunDue(), 1u);
  ASSERT_TRUE(WaitFor([this] { return store_.reading(); }));
  refresher.reset();  // returns once the read has ended
  EXPECT_TRUE(store_.stopped());
  EXPECT_FALSE(store_.reading());
  EXPECT_EQ(scheduler_.pending(), 0u);
  // A read ended by the stop is no failed snapshot.
  EXPECT_THAT(Value("hart_ops_snapshot_failures_total"), Optional(0.0));
}

}  // namespace
}  // namespace hart::metrics
