// The production ThreadScheduler and a wall clock that steps: what was
// scheduled runs after the time it was scheduled ahead, whichever way the
// clock jumps meanwhile. The real thread, bounded waits, no timing asserts.
#include "broker/common/thread_scheduler.h"

#include <gtest/gtest.h>

#include <atomic>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "broker/clock.h"

namespace hart {
namespace {

// The wall clock plus an offset a test steps, as NTP or an operator would.
class SteppedClock final : public Clock {
 public:
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return absl::Now() + offset_;
  }
  void Step(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    offset_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Duration offset_ ABSL_GUARDED_BY(mu_);
};

TEST(ThreadSchedulerClockStepTest, AClockSteppedBackDoesNotHoldWhatWasScheduled) {
  SteppedClock clock;
  ThreadScheduler scheduler(clock);
  absl::Notification ran;
  scheduler.RunAt(clock.Now() + absl::Milliseconds(200), [&] { ran.Notify(); });
  clock.Step(-absl::Minutes(10));
  // By the clock it is due in ten minutes; it was scheduled 200 ms ahead.
  EXPECT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(30)));
}

TEST(ThreadSchedulerClockStepTest, AClockSteppedForwardRunsWhatFellDueAtOnce) {
  SteppedClock clock;
  ThreadScheduler scheduler(clock);
  absl::Notification ran;
  scheduler.RunAt(clock.Now() + absl::Hours(2), [&] { ran.Notify(); });
  EXPECT_FALSE(ran.WaitForNotificationWithTimeout(absl::Milliseconds(100)));
  clock.Step(absl::Hours(3));
  scheduler.RunAt(clock.Now(), [] {});  // a wake: the loop looks at the clock again
  EXPECT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(30)));
}

TEST(ThreadSchedulerClockStepTest, CancelledAfterAStepNeverRuns) {
  SteppedClock clock;
  ThreadScheduler scheduler(clock);
  std::atomic<bool> cancelled_ran{false};
  const uint64_t id =
      scheduler.RunAt(clock.Now() + absl::Milliseconds(300), [&] { cancelled_ran = true; });
  clock.Step(-absl::Minutes(10));
  EXPECT_TRUE(scheduler.Cancel(id));
  absl::Notification later;
  scheduler.RunAt(clock.Now() + absl::Milliseconds(600), [&] { later.Notify(); });
  ASSERT_TRUE(later.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_FALSE(cancelled_ran);
}

}  // namespace
}  // namespace hart
