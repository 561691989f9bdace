// The delivery guard around a push adapter, with a manual clock and
// scheduler and an inner adapter that holds its callbacks until the test
// answers: circuit breaker, concurrency limit, watchdog, health, shutdown.
// Also the production ThreadScheduler the watchdogs run on.
#include "broker/dispatch/delivery_guard.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <vector>

#include "absl/synchronization/notification.h"
#include "broker/common/thread_scheduler.h"
#include "broker/dispatch/adapter_health_board.h"
#include "tests/unit/delivery_guard_fixture.h"

namespace hart {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using hart::testing::DeliveryGuardTest;
using hart::testing::HeldAdapter;
using hart::testing::ManualScheduler;
using hart::testing::Outcomes;
using hart::testing::Record;
using hart::testing::TestNow;
using hart::testing::Unavailable;

TEST_F(DeliveryGuardTest, ForwardsTypeAndResults) {
  MakeGuard();
  EXPECT_EQ(guard_->type(), "held");
  Deliver("d1");
  ASSERT_EQ(inner_->CallIds(), std::vector<std::string>{"d1"});
  EXPECT_FALSE(outcomes_.Has("d1"));
  inner_->Answer(0, DeliveryResult::Delivered("partner-ref-1"));
  const DeliveryResult r = outcomes_.Of("d1");
  EXPECT_TRUE(r.status.ok());
  EXPECT_EQ(r.transport_ref, "partner-ref-1");
  EXPECT_EQ(scheduler_.pending(), 0u);  // the watchdog was cancelled
}

TEST_F(DeliveryGuardTest, OpensAfterThresholdFailuresThenDefersWithoutCallingInner) {
  MakeGuard();
  OpenCircuit();
  EXPECT_EQ(inner_->call_count(), 3u);
  // Transport failures go back as they came (the dispatcher retries them).
  EXPECT_EQ(outcomes_.Of("fail-2").status.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(outcomes_.Of("fail-2").attempted);

  Deliver("d1");
  EXPECT_EQ(inner_->call_count(), 3u);
  DeliveryResult r = outcomes_.Of("d1");
  EXPECT_FALSE(r.attempted);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(r.status.message(),
            "circuit open for agency-a after 3 consecutive failures "
            "(last: UNAVAILABLE: connection refused)");
  EXPECT_EQ(r.retry_after, absl::Seconds(60));

  clock_.Advance(absl::Seconds(45));
  Deliver("d2");
  EXPECT_EQ(inner_->call_count(), 3u);
  EXPECT_EQ(outcomes_.Of("d2").retry_after, absl::Seconds(15));
  EXPECT_FALSE(outcomes_.Of("d2").attempted);
}

TEST_F(DeliveryGuardTest, HalfOpenAdmitsExactlyOneProbeWhoseSuccessCloses) {
  MakeGuard();
  OpenCircuit();
  clock_.Advance(absl::Seconds(60));
  Deliver("probe");
  ASSERT_EQ(inner_->call_count(), 4u);
  EXPECT_EQ(StateNow(), AdapterHealth::State::kDegraded);
  Deliver("while-probing");
  EXPECT_EQ(inner_->call_count(), 4u);
  const DeliveryResult deferred = outcomes_.Of("while-probing");
  EXPECT_FALSE(deferred.attempted);
  // Back when the probe has its answer at the latest: timeout + grace.
  EXPECT_EQ(deferred.retry_after, absl::Seconds(12));

  inner_->Answer(3, DeliveryResult::Delivered("ok"));
  EXPECT_EQ(StateNow(), AdapterHealth::State::kUp);
  Deliver("after");
  Deliver("after-2");
  EXPECT_EQ(inner_->call_count(), 6u);
}

// The new period is twice the last (max_open_for defaults to 8 x open_for).
TEST_F(DeliveryGuardTest, ProbeFailureReopensForANewPeriodTwiceAsLong) {
  MakeGuard();
  OpenCircuit();
  clock_.Advance(absl::Seconds(70));
  Deliver("probe");
  ASSERT_EQ(inner_->call_count(), 4u);
  clock_.Advance(absl::Seconds(5));
  inner_->Answer(3, Unavailable());
  const AdapterHealth health = guard_->Health();
  EXPECT_EQ(health.state, AdapterHealth::State::kCircuitOpen);
  EXPECT_EQ(health.consecutive_failures, 4u);
  EXPECT_EQ(health.circuit_open_until, clock_.Now() + absl::Seconds(120));
  Deliver("d1");
  EXPECT_EQ(inner_->call_count(), 4u);
  EXPECT_EQ(outcomes_.Of("d1").retry_after, absl::Seconds(120));
}

TEST_F(DeliveryGuardTest, AProbeTheInnerDeferredLetsTheNextCallProbe) {
  MakeGuard();
  OpenCircuit();
  clock_.Advance(absl::Seconds(60));
  Deliver("probe");
  inner_->Answer(3, DeliveryResult::Deferred(absl::UnavailableError("not now"), absl::Seconds(3)));
  EXPECT_FALSE(outcomes_.Of("probe").attempted);
  Deliver("probe-2");
  EXPECT_EQ(inner_->call_count(), 5u);
}

TEST_F(DeliveryGuardTest, PermanentFailuresDoNotOpenTheCircuit) {
  MakeGuard();
  for (int i = 0; i < 5; ++i) {
    Deliver("bad-" + std::to_string(i));
    inner_->Answer(i, DeliveryResult::Failed(absl::InvalidArgumentError("HTTP 400 from partner")));
  }
  AdapterHealth health = guard_->Health();
  EXPECT_EQ(health.state, AdapterHealth::State::kUp);
  EXPECT_EQ(health.consecutive_failures, 0u);
  EXPECT_EQ(health.last_error, "INVALID_ARGUMENT: HTTP 400 from partner");
  EXPECT_EQ(outcomes_.Of("bad-4").status.code(), absl::StatusCode::kInvalidArgument);

  // A permanent failure between transport failures resets their count.
  Deliver("t1");
  inner_->Answer(5, Unavailable());
  Deliver("t2");
  inner_->Answer(6, Unavailable());
  Deliver("bad");
  inner_->Answer(7, DeliveryResult::Failed(absl::InvalidArgumentError("HTTP 400 from partner")));
  Deliver("t3");
  inner_->Answer(8, Unavailable());
  health = guard_->Health();
  EXPECT_EQ(health.state, AdapterHealth::State::kDegraded);
  EXPECT_EQ(health.consecutive_failures, 1u);
}

TEST_F(DeliveryGuardTest, AtTheConcurrencyLimitCallsWaitAndStartInOrder) {
  MakeGuard();
  for (const char* id : {"d1", "d2", "d3", "d4"}) Deliver(id);
  EXPECT_THAT(inner_->CallIds(), ElementsAre("d1", "d2"));
  AdapterHealth health = guard_->Health();
  EXPECT_EQ(health.in_flight, 2u);
  EXPECT_EQ(health.queued, 2u);

  inner_->Answer(1, DeliveryResult::Delivered("ok"));
  EXPECT_THAT(inner_->CallIds(), ElementsAre("d1", "d2", "d3"));
  inner_->Answer(0, DeliveryResult::Delivered("ok"));
  EXPECT_THAT(inner_->CallIds(), ElementsAre("d1", "d2", "d3", "d4"));
  health = guard_->Health();
  EXPECT_EQ(health.in_flight, 2u);
  EXPECT_EQ(health.queued, 0u);
  inner_->Answer(2, DeliveryResult::Delivered("ok"));
  inner_->Answer(3, DeliveryResult::Delivered("ok"));
  EXPECT_EQ(outcomes_.size(), 4u);
  EXPECT_EQ(guard_->Health().in_flight, 0u);
}

TEST_F(DeliveryGuardTest, BeyondTheQueueBoundDeliveriesAreDeferred) {
  policy_.max_concurrency = 1;
  policy_.max_queued = 1;
  policy_.queue_full_retry_after = absl::Seconds(7);
  MakeGuard();
  Deliver("d1");
  Deliver("d2");
  Deliver("d3");
  EXPECT_EQ(inner_->call_count(), 1u);
  const DeliveryResult r = outcomes_.Of("d3");
  EXPECT_FALSE(r.attempted);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(r.retry_after, absl::Seconds(7));
  EXPECT_TRUE(r.holds_destination);
  EXPECT_FALSE(outcomes_.Has("d2"));
}

// Waiting behind a slow partner past its claim's lease, a delivery may have
// been claimed again (by this broker or another): sending it would be a
// duplicate. It is answered unsent, and the next one with time left goes.
TEST_F(DeliveryGuardTest, AClaimThatRanOutWhileWaitingIsNotSent) {
  policy_.max_concurrency = 1;
  MakeGuard();
  auto claimed = [&](const std::string& id, absl::Duration lease) {
    DeliveryRecord record = Record(id);
    record.lease_until = clock_.Now() + lease;
    return record;
  };
  guard_->Deliver(claimed("slow", absl::Seconds(60)), outcomes_.For("slow"));
  guard_->Deliver(claimed("short", absl::Seconds(5)), outcomes_.For("short"));
  guard_->Deliver(claimed("long", absl::Seconds(60)), outcomes_.For("long"));
  clock_.Advance(absl::Seconds(8));  // the partner takes 8 s over "slow"
  inner_->Answer(0, DeliveryResult::Delivered("ok"));
  EXPECT_THAT(inner_->CallIds(), ElementsAre("slow", "long"));
  const DeliveryResult r = outcomes_.Of("short");
  EXPECT_FALSE(r.attempted);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.status.message(), HasSubstr("ran out 3s ago"));
  EXPECT_EQ(guard_->Health().state, AdapterHealth::State::kUp);

  // Handed over already past its lease (a slow dispatcher): not sent either.
  inner_->Answer(1, DeliveryResult::Delivered("ok"));
  guard_->Deliver(claimed("stale", -absl::Seconds(1)), outcomes_.For("stale"));
  EXPECT_EQ(inner_->call_count(), 2u);
  EXPECT_FALSE(outcomes_.Of("stale").attempted);
}

TEST_F(DeliveryGuardTest, WaitingCallsAreDeferredWhenTheCircuitOpensMeanwhile) {
  policy_.max_concurrency = 1;
  policy_.failure_threshold = 1;
  MakeGuard();
  Deliver("d1");
  Deliver("d2");
  inner_->Answer(0, Unavailable());
  EXPECT_EQ(inner_->call_count(), 1u);
  EXPECT_FALSE(outcomes_.Of("d2").attempted);
  EXPECT_THAT(outcomes_.Of("d2").status.message(), HasSubstr("circuit open"));
}

TEST_F(DeliveryGuardTest, WatchdogAnswersOnceFreesTheSlotAndIgnoresTheLateResult) {
  policy_.max_concurrency = 1;
  MakeGuard();
  Deliver("d1");
  Deliver("d2");
  clock_.Advance(absl::Seconds(12) - absl::Milliseconds(1));
  EXPECT_EQ(scheduler_.RunDue(), 0u);
  EXPECT_FALSE(outcomes_.Has("d1"));
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_EQ(scheduler_.RunDue(), 1u);
  const DeliveryResult r = outcomes_.Of("d1");
  EXPECT_EQ(r.status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(r.status.message(), "no answer from held adapter within 10s");
  EXPECT_TRUE(r.attempted);
  // The slot went to the waiting delivery.
  EXPECT_THAT(inner_->CallIds(), ElementsAre("d1", "d2"));
  AdapterHealth health = guard_->Health();
  EXPECT_EQ(health.consecutive_failures, 1u);
  EXPECT_EQ(health.in_flight, 1u);
  EXPECT_EQ(health.last_error, "DEADLINE_EXCEEDED: no answer from held adapter within 10s");

  inner_->Answer(0, DeliveryResult::Delivered("too late"));  // ignored
  EXPECT_EQ(outcomes_.Of("d1").status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(guard_->Health().consecutive_failures, 1u);
  EXPECT_EQ(guard_->Health().in_flight, 1u);
}

TEST_F(DeliveryGuardTest, WatchdogsCountTowardTheCircuit) {
  policy_.max_concurrency = 3;
  MakeGuard();
  for (const char* id : {"d1", "d2", "d3"}) Deliver(id);
  clock_.Advance(absl::Seconds(12));
  EXPECT_EQ(scheduler_.RunDue(), 3u);
  EXPECT_EQ(StateNow(), AdapterHealth::State::kCircuitOpen);
  Deliver("d4");
  EXPECT_EQ(inner_->call_count(), 3u);
  EXPECT_THAT(outcomes_.Of("d4").status.message(),
              HasSubstr("(last: DEADLINE_EXCEEDED: no answer from held adapter within 10s)"));
}

TEST_F(DeliveryGuardTest, SynchronousAnswersAreDeliveredOnceWithoutWatchdogs) {
  policy_.max_concurrency = 1;
  MakeGuard();
  inner_->answer_at_once = DeliveryResult::Delivered("ok");
  for (int i = 0; i < 200; ++i) Deliver("d" + std::to_string(i));
  EXPECT_EQ(outcomes_.size(), 200u);
  EXPECT_EQ(inner_->call_count(), 200u);
  EXPECT_EQ(scheduler_.pending(), 0u);
}

TEST_F(DeliveryGuardTest, HealthGoesUpDegradedOpenAndUpAgain) {
  MakeGuard();
  AdapterHealth health = guard_->Health();
  EXPECT_EQ(health.agency_id, "agency-a");
  EXPECT_EQ(health.adapter_type, "held");
  EXPECT_EQ(health.state, AdapterHealth::State::kUp);
  EXPECT_TRUE(health.last_error.empty());
  EXPECT_FALSE(health.last_success_at.has_value());

  Deliver("d1");
  clock_.Advance(absl::Seconds(1));
  inner_->Answer(0, Unavailable());
  health = guard_->Health();
  EXPECT_EQ(health.state, AdapterHealth::State::kDegraded);
  EXPECT_EQ(health.consecutive_failures, 1u);
  EXPECT_EQ(health.last_error, "UNAVAILABLE: connection refused");
  EXPECT_EQ(health.last_error_at, clock_.Now());

  Deliver("d2");
  inner_->Answer(1, Unavailable());
  Deliver("d3");
  inner_->Answer(2, Unavailable());
  health = guard_->Health();
  EXPECT_EQ(health.state, AdapterHealth::State::kCircuitOpen);
  EXPECT_EQ(health.circuit_open_until, clock_.Now() + absl::Seconds(60));

  clock_.Advance(absl::Seconds(60));
  EXPECT_EQ(StateNow(), AdapterHealth::State::kDegraded);  // a probe may go
  Deliver("probe");
  inner_->Answer(3, DeliveryResult::Delivered("ok"));
  health = guard_->Health();
  EXPECT_EQ(health.state, AdapterHealth::State::kUp);
  EXPECT_EQ(health.consecutive_failures, 0u);
  EXPECT_EQ(health.last_success_at, clock_.Now());
  EXPECT_EQ(health.last_error, "UNAVAILABLE: connection refused");  // kept for operators
  EXPECT_FALSE(health.circuit_open_until.has_value());
}

TEST_F(DeliveryGuardTest, DestructorDefersWaitingCallsAndLetsTheInnerAnswerItsOwn) {
  policy_.max_concurrency = 1;
  MakeGuard(/*inner_answers_on_destroy=*/true);
  for (const char* id : {"d1", "d2", "d3"}) Deliver(id);
  guard_.reset();
  EXPECT_EQ(outcomes_.size(), 3u);
  for (const char* id : {"d2", "d3"}) {
    const DeliveryResult r = outcomes_.Of(id);
    EXPECT_FALSE(r.attempted) << id;
    EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable) << id;
    EXPECT_EQ(r.status.message(), "broker shutting down") << id;
    EXPECT_EQ(r.retry_after, absl::Seconds(1)) << id;
  }
  EXPECT_EQ(outcomes_.Of("d1").status.message(), "adapter stopped");
  EXPECT_EQ(scheduler_.pending(), 0u);
}

TEST_F(DeliveryGuardTest, DestructorAnswersWhatTheInnerLeftUnanswered) {
  MakeGuard(/*inner_answers_on_destroy=*/false);
  Deliver("d1");
  guard_.reset();
  const DeliveryResult r = outcomes_.Of("d1");
  EXPECT_TRUE(r.attempted);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(r.status.message(), "broker shut down before the held adapter answered");
  EXPECT_EQ(scheduler_.RunDue(), 0u);
  clock_.Advance(absl::Minutes(1));
  EXPECT_EQ(scheduler_.RunDue(), 0u);  // no watchdog left behind
}

TEST(DeliveryGuardPolicyTest, ConfigOverridesOnlyWhatIsSet) {
  config::v1::DeliveryLimits limits;
  DeliveryGuardPolicy policy = DeliveryGuardPolicy::FromConfig(limits);
  EXPECT_EQ(policy.timeout, absl::Seconds(30));
  EXPECT_EQ(policy.max_concurrency, 4u);
  EXPECT_EQ(policy.failure_threshold, 5u);
  EXPECT_EQ(policy.open_for, absl::Seconds(60));
  limits.mutable_timeout()->set_seconds(5);
  limits.set_max_concurrency(9);
  limits.set_failure_threshold(2);
  limits.mutable_open_for()->set_seconds(300);
  policy = DeliveryGuardPolicy::FromConfig(limits);
  EXPECT_EQ(policy.timeout, absl::Seconds(5));
  EXPECT_EQ(policy.max_concurrency, 9u);
  EXPECT_EQ(policy.failure_threshold, 2u);
  EXPECT_EQ(policy.open_for, absl::Seconds(300));
}

TEST_F(DeliveryGuardTest, HealthBoardReportsEveryRegisteredGuard) {
  MakeGuard();
  auto other = std::make_unique<GuardedAdapter>("agency-0", std::make_unique<HeldAdapter>(),
                                                policy_, clock_, scheduler_);
  AdapterHealthBoard board;
  EXPECT_FALSE(board.HealthOf("agency-a").has_value());
  board.Add(*guard_);
  board.Add(*other);
  Deliver("d1");
  inner_->Answer(0, Unavailable());
  ASSERT_TRUE(board.HealthOf("agency-a").has_value());
  EXPECT_EQ(board.HealthOf("agency-a")->state, AdapterHealth::State::kDegraded);
  const auto all = board.AllHealth();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].agency_id, "agency-0");
  EXPECT_EQ(all[0].state, AdapterHealth::State::kUp);
  EXPECT_EQ(all[1].agency_id, "agency-a");
  board.Remove("agency-0");
  EXPECT_FALSE(board.HealthOf("agency-0").has_value());
  EXPECT_EQ(board.AllHealth().size(), 1u);
  EXPECT_STREQ(AdapterHealthStateName(all[1].state), "degraded");
}

// --- ThreadScheduler: the real thread, bounded waits, no timing asserts.

TEST(ThreadSchedulerTest, RunsDueCallbacksInTimeOrder) {
  SystemClock clock;
  ThreadScheduler scheduler(clock);
  const absl::Time now = clock.Now();
  absl::Notification blocker_running, release;
  // Holds the thread so the next three are all queued before any runs.
  scheduler.RunAt(now - absl::Seconds(10), [&] {
    blocker_running.Notify();
    release.WaitForNotificationWithTimeout(absl::Seconds(10));
  });
  ASSERT_TRUE(blocker_running.WaitForNotificationWithTimeout(absl::Seconds(10)));
  absl::Mutex mu;
  std::vector<int> order;
  for (int i : {1, 3, 2}) {
    scheduler.RunAt(now - absl::Seconds(i), [&, i] {
      absl::MutexLock lock(&mu);
      order.push_back(i);
    });
  }
  release.Notify();
  ASSERT_TRUE(hart::testing::WaitFor([&] {
    absl::MutexLock lock(&mu);
    return order.size() == 3;
  }));
  absl::MutexLock lock(&mu);
  EXPECT_THAT(order, ElementsAre(3, 2, 1));
}

TEST(ThreadSchedulerTest, CancelDropsAPendingCallbackOnly) {
  SystemClock clock;
  ThreadScheduler scheduler(clock);
  std::atomic<bool> far_ran{false};
  const uint64_t far = scheduler.RunAt(clock.Now() + absl::Hours(1), [&] { far_ran = true; });
  absl::Notification ran;
  const uint64_t soon = scheduler.RunAt(clock.Now(), [&] { ran.Notify(); });
  EXPECT_NE(far, soon);
  ASSERT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(scheduler.Cancel(far));
  EXPECT_FALSE(scheduler.Cancel(far));   // already cancelled
  EXPECT_FALSE(scheduler.Cancel(soon));  // already ran
  EXPECT_FALSE(far_ran);
}

TEST(ThreadSchedulerTest, DestructorWithPendingCallbacksReturnsWithoutRunningThem) {
  SystemClock clock;
  std::atomic<int> ran{0};
  {
    ThreadScheduler scheduler(clock);
    for (int i = 1; i <= 5; ++i) scheduler.RunAt(clock.Now() + absl::Hours(i), [&] { ++ran; });
  }
  EXPECT_EQ(ran, 0);
}

TEST(ThreadSchedulerTest, DrivesARealWatchdog) {
  SystemClock clock;
  ThreadScheduler scheduler(clock);
  DeliveryGuardPolicy policy;
  policy.timeout = absl::Milliseconds(100);
  policy.watchdog_grace = absl::Milliseconds(50);
  GuardedAdapter guard("agency-a", std::make_unique<HeldAdapter>(/*answer_on_destroy=*/false),
                       policy, clock, scheduler);
  std::promise<DeliveryResult> promise;
  auto future = promise.get_future();
  guard.Deliver(Record("d1"), [&](DeliveryResult r) { promise.set_value(std::move(r)); });
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(future.get().status.code(), absl::StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace hart
