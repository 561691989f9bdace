// The dispatch loop's turns (broker/dispatch/dispatch_loop.h): a commit's
// new work wakes it only when due before the turn it planned, or while it
// is planning one (a commit between its read of the store and its wait),
// and FirstDueWork picks the work the loop would look for.
#include "broker/dispatch/dispatch_loop.h"

#include <atomic>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "broker/store/store_wrapper.h"
#include "tests/support/referral_factory.h"

namespace hart {
namespace {

using hart::testing::TempDir;
using hart::testing::TestNow;
using hart::testing::WaitFor;

// Counts the loop's reads of the next due time; a closed gate holds the
// loop inside one (it is then planning its turn).
class TurnCountingStore final : public StoreWrapper {
 public:
  using StoreWrapper::StoreWrapper;
  absl::StatusOr<std::optional<absl::Time>> NextDueTime(
      std::span<const AgencyHold> holds) override {
    {
      absl::MutexLock lock(&mu_);
      ++reads_;
      mu_.Await(absl::Condition(&gate_open_));
    }
    return StoreWrapper::NextDueTime(holds);
  }
  int reads() {
    absl::MutexLock lock(&mu_);
    return reads_;
  }
  void SetGate(bool open) {
    absl::MutexLock lock(&mu_);
    gate_open_ = open;
  }

 private:
  absl::Mutex mu_;
  int reads_ ABSL_GUARDED_BY(mu_) = 0;
  bool gate_open_ ABSL_GUARDED_BY(mu_) = true;
};

class DispatchLoopTest : public ::testing::Test {
 protected:
  DispatchLoopTest()
      : clock_(TestNow()),
        store_(std::move(OpenSqliteStore(dir_.path()).value())),
        counting_(*store_) {}

  // Nothing is due in the empty store: the loop plans its next turn an
  // hour away (its longest wait).
  std::unique_ptr<DispatchLoop> StartLoop() {
    return std::make_unique<DispatchLoop>(std::vector<DispatchLoop::Pass>{},
                                          std::vector<DispatchLoop::Pass>{}, counting_, clock_,
                                          DispatchLoop::HoldsFn{}, absl::Hours(1));
  }

  TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<Store> store_;
  TurnCountingStore counting_;
};

TEST_F(DispatchLoopTest, NewWorkDueAfterThePlannedTurnLeavesTheLoopWaiting) {
  auto loop = StartLoop();
  ASSERT_TRUE(WaitFor([&] { return loop->PlannedTurn().has_value(); }));
  EXPECT_EQ(*loop->PlannedTurn(), TestNow() + absl::Hours(1));
  EXPECT_EQ(counting_.reads(), 1);

  loop->WakeForWorkDue(TestNow() + absl::Hours(2));  // a ladder's first step
  EXPECT_FALSE(loop->WakePending());
  loop->WakeForWorkDue(TestNow() + absl::Hours(1));  // not before the turn either
  EXPECT_FALSE(loop->WakePending());

  loop->WakeForWorkDue(TestNow());  // a push delivery, due now
  EXPECT_TRUE(WaitFor([&] { return counting_.reads() == 2; }));
  ASSERT_TRUE(WaitFor([&] { return loop->PlannedTurn().has_value(); }));
  loop->Wake();  // anything else always looks again
  EXPECT_TRUE(WaitFor([&] { return counting_.reads() == 3; }));
}

TEST_F(DispatchLoopTest, WorkCommittedWhileTheLoopPlansWakesItWheneverItIsDue) {
  counting_.SetGate(false);
  auto loop = StartLoop();
  ASSERT_TRUE(WaitFor([&] { return counting_.reads() == 1; }));
  EXPECT_FALSE(loop->PlannedTurn().has_value());  // between its read and its wait
  // The loop's read may not have seen this commit: it must look again,
  // however late the work is due.
  loop->WakeForWorkDue(TestNow() + absl::Hours(5));
  counting_.SetGate(true);
  EXPECT_TRUE(WaitFor([&] { return counting_.reads() == 2; }));
}

// Renewing the leader lease is a write transaction: however often the loop
// is woken (another replica's every commit wakes it), maintenance runs once
// an interval of the injected clock.
TEST_F(DispatchLoopTest, MaintenanceRunsOnceAnIntervalHoweverOftenTheLoopTurns) {
  std::atomic<int> maintained = 0;
  std::vector<DispatchLoop::Pass> maintenance = {[&]() -> absl::StatusOr<size_t> {
    ++maintained;
    return size_t{0};
  }};
  DispatchLoop loop({}, std::move(maintenance), counting_, clock_, DispatchLoop::HoldsFn{},
                    absl::Hours(1), absl::Seconds(1));
  auto turn = [&](int reads) {
    ASSERT_TRUE(WaitFor([&] { return loop.PlannedTurn().has_value(); }));
    loop.Wake();
    ASSERT_TRUE(WaitFor([&] { return counting_.reads() == reads; }));
  };
  ASSERT_TRUE(WaitFor([&] { return counting_.reads() == 1; }));
  EXPECT_EQ(maintained.load(), 1);  // the first turn
  for (int reads = 2; reads <= 4; ++reads) ASSERT_NO_FATAL_FAILURE(turn(reads));
  EXPECT_EQ(maintained.load(), 1);
  clock_.Advance(absl::Milliseconds(999));
  ASSERT_NO_FATAL_FAILURE(turn(5));
  EXPECT_EQ(maintained.load(), 1);
  clock_.Advance(absl::Milliseconds(1));
  ASSERT_NO_FATAL_FAILURE(turn(6));
  EXPECT_EQ(maintained.load(), 2);
  ASSERT_NO_FATAL_FAILURE(turn(7));
  EXPECT_EQ(maintained.load(), 2);
  // A clock stepped back past the last run does not stop maintenance.
  clock_.Advance(absl::Minutes(-10));
  ASSERT_NO_FATAL_FAILURE(turn(8));
  EXPECT_EQ(maintained.load(), 3);
  ASSERT_NO_FATAL_FAILURE(turn(9));
  EXPECT_EQ(maintained.load(), 3);
}

TEST(DispatchLoopFirstDueTest, IsTheEarliestPendingDeliveryOrTimer) {
  const absl::Time t0 = TestNow();
  NewReferral referral;
  EXPECT_EQ(DispatchLoop::FirstDueWork(referral), std::nullopt);

  DeliveryRecord on_feed;  // stored IN_FLIGHT, already on its feed
  on_feed.state = v1::IN_FLIGHT;
  on_feed.next_attempt_at = t0 - absl::Minutes(1);
  referral.deliveries.push_back(on_feed);
  TimerRecord ladder;
  ladder.kind = TimerRecord::Kind::kLadder;
  ladder.due_at = t0 + absl::Hours(4);
  referral.timers.push_back(ladder);
  EXPECT_EQ(DispatchLoop::FirstDueWork(referral), t0 + absl::Hours(4));

  DeliveryRecord push;
  push.state = v1::PENDING;
  push.next_attempt_at = t0 + absl::Seconds(1);
  referral.deliveries.push_back(push);
  EXPECT_EQ(DispatchLoop::FirstDueWork(referral), t0 + absl::Seconds(1));
}

TEST(DispatchLoopFirstDueTest, AHeldAgencysDeliveryIsNotDueBeforeItsHoldEnds) {
  const absl::Time t0 = TestNow();
  NewReferral referral;
  DeliveryRecord push;
  push.agency_id = "ncmec";
  push.state = v1::PENDING;
  push.next_attempt_at = t0;
  referral.deliveries.push_back(push);
  const std::vector<AgencyHold> other_held = {{"webhook-pd", t0 + absl::Minutes(5)}};
  EXPECT_EQ(DispatchLoop::FirstDueWork(referral, other_held), t0);

  const std::vector<AgencyHold> held = {{"ncmec", t0 + absl::Minutes(5)}};
  EXPECT_EQ(DispatchLoop::FirstDueWork(referral, held), t0 + absl::Minutes(5));
  // A retry due after the hold ends is due then.
  referral.deliveries[0].next_attempt_at = t0 + absl::Minutes(9);
  EXPECT_EQ(DispatchLoop::FirstDueWork(referral, held), t0 + absl::Minutes(9));

  TimerRecord ladder;  // timers are never held
  ladder.kind = TimerRecord::Kind::kLadder;
  ladder.due_at = t0 + absl::Minutes(1);
  referral.timers.push_back(ladder);
  EXPECT_EQ(DispatchLoop::FirstDueWork(referral, held), t0 + absl::Minutes(1));
}

}  // namespace
}  // namespace hart
