// The store executor: FIFO order, a bounded queue that refuses without
// running, parallel workers, and a shutdown that runs what was queued.
#include "broker/store/store_executor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "tests/support/test_support.h"

namespace hart {
namespace {

constexpr absl::Duration kBound = absl::Seconds(10);

// Occupies one worker until released; `started` tells it is running.
struct Blocker {
  absl::Notification started;
  absl::Notification release;
  std::function<void()> Task() {
    return [this] {
      started.Notify();
      release.WaitForNotificationWithTimeout(kBound);
    };
  }
};

TEST(StoreExecutorTest, RunsTasksInSubmissionOrder) {
  StoreExecutor executor({.threads = 1, .queue_limit = 64});
  Blocker blocker;
  ASSERT_TRUE(executor.Submit(blocker.Task()).ok());
  ASSERT_TRUE(blocker.started.WaitForNotificationWithTimeout(kBound));
  absl::Mutex mu;
  std::vector<int> order;
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(executor
                    .Submit([&, i] {
                      absl::MutexLock lock(&mu);
                      order.push_back(i);
                    })
                    .ok());
  }
  EXPECT_EQ(executor.queue_length(), 20u);
  blocker.release.Notify();
  executor.Shutdown();
  std::vector<int> expected(20);
  for (int i = 0; i < 20; ++i) expected[i] = i;
  EXPECT_EQ(order, expected);
}

TEST(StoreExecutorTest, RefusesWhenTheQueueIsFullWithoutRunningOrKeepingTheTask) {
  StoreExecutor executor({.threads = 1, .queue_limit = 2});
  EXPECT_EQ(executor.capacity(), 2u);
  Blocker blocker;
  ASSERT_TRUE(executor.Submit(blocker.Task()).ok());
  ASSERT_TRUE(blocker.started.WaitForNotificationWithTimeout(kBound));
  std::atomic<int> ran{0};
  ASSERT_TRUE(executor.Submit([&] { ++ran; }).ok());
  ASSERT_TRUE(executor.Submit([&] { ++ran; }).ok());
  EXPECT_EQ(executor.queue_length(), 2u);

  auto held = std::make_shared<int>(0);
  bool refused_ran = false;
  const absl::Status refused = executor.Submit([&, held] { refused_ran = true; });
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(refused.message(), "the store is busy; retry");
  EXPECT_EQ(held.use_count(), 1) << "a refused task must not be kept";
  EXPECT_EQ(executor.queue_length(), 2u);

  blocker.release.Notify();
  executor.Shutdown();
  EXPECT_EQ(ran.load(), 2);
  EXPECT_FALSE(refused_ran);
}

// Verifies every refusal is counted (for metrics), full or shutting down.
// Verifies the workers run at the nice value asked for (a thread's own),
// and that the other executors' workers keep the process's.
TEST(StoreExecutorTest, WorkersRunAtTheNiceValueAskedFor) {
  auto nice_of_worker = [](StoreExecutor& executor) {
    absl::Notification done;
    int nice = -100;
    EXPECT_TRUE(executor
                    .Submit([&] {
                      nice = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
                      done.Notify();
                    })
                    .ok());
    done.WaitForNotification();
    return nice;
  };
  const int process_nice = getpriority(PRIO_PROCESS, 0);
  StoreExecutor niced({.threads = 1, .queue_limit = 1, .nice = 10});
  StoreExecutor plain({.threads = 1, .queue_limit = 1});
  EXPECT_EQ(nice_of_worker(niced), std::max(10, process_nice));
  EXPECT_EQ(nice_of_worker(plain), process_nice);
}

TEST(StoreExecutorTest, CountsEveryRefusal) {
  StoreExecutor executor({.threads = 1, .queue_limit = 1});
  Blocker blocker;
  ASSERT_TRUE(executor.Submit(blocker.Task()).ok());
  ASSERT_TRUE(blocker.started.WaitForNotificationWithTimeout(kBound));
  ASSERT_TRUE(executor.Submit([] {}).ok());
  EXPECT_EQ(executor.refused(), 0u);
  EXPECT_FALSE(executor.Submit([] {}).ok());
  EXPECT_FALSE(executor.Submit([] {}).ok());
  EXPECT_EQ(executor.refused(), 2u);
  blocker.release.Notify();
  executor.Shutdown();
  EXPECT_FALSE(executor.Submit([] {}).ok());
  EXPECT_EQ(executor.refused(), 3u);
}

TEST(StoreExecutorTest, RunHandsTheResultToDoneOrTheRefusalOnTheCallingThread) {
  StoreExecutor executor({.threads = 1, .queue_limit = 1});
  absl::Notification answered;
  absl::StatusOr<int> result;
  executor.Run([] { return absl::StatusOr<int>(42); },
               [&](absl::StatusOr<int> r) {
                 result = std::move(r);
                 answered.Notify();
               });
  ASSERT_TRUE(answered.WaitForNotificationWithTimeout(kBound));
  EXPECT_EQ(result.value_or(0), 42);

  Blocker blocker;
  ASSERT_TRUE(executor.Submit(blocker.Task()).ok());
  ASSERT_TRUE(blocker.started.WaitForNotificationWithTimeout(kBound));
  ASSERT_TRUE(executor.Submit([] {}).ok());  // the queue (1) is now full
  bool work_ran = false;
  const std::thread::id caller = std::this_thread::get_id();
  std::thread::id answered_on;
  absl::Status refusal;
  executor.Run(
      [&] {
        work_ran = true;
        return absl::OkStatus();
      },
      [&](absl::Status s) {
        refusal = s;
        answered_on = std::this_thread::get_id();
      });
  EXPECT_EQ(refusal.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(answered_on, caller);
  blocker.release.Notify();
  executor.Shutdown();
  EXPECT_FALSE(work_ran);
}

TEST(StoreExecutorTest, WorkersRunTasksInParallel) {
  StoreExecutor executor({.threads = 2, .queue_limit = 8});
  // Each waits for the other: both finish only if two workers run at once.
  absl::Notification first_running, second_running;
  std::atomic<int> finished{0};
  ASSERT_TRUE(executor
                  .Submit([&] {
                    first_running.Notify();
                    if (second_running.WaitForNotificationWithTimeout(kBound)) ++finished;
                  })
                  .ok());
  ASSERT_TRUE(executor
                  .Submit([&] {
                    second_running.Notify();
                    if (first_running.WaitForNotificationWithTimeout(kBound)) ++finished;
                  })
                  .ok());
  executor.Shutdown();
  EXPECT_EQ(finished.load(), 2);
  EXPECT_EQ(executor.threads(), 2u);
}

TEST(StoreExecutorTest, ShutdownRunsEverythingQueuedThenRefuses) {
  StoreExecutor executor({.threads = 1, .queue_limit = 16});
  Blocker blocker;
  ASSERT_TRUE(executor.Submit(blocker.Task()).ok());
  ASSERT_TRUE(blocker.started.WaitForNotificationWithTimeout(kBound));
  std::atomic<int> ran{0};
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(executor.Submit([&] { ++ran; }).ok());

  std::thread stopper([&] { executor.Shutdown(); });
  // Shutdown has begun once Submit refuses for it; the three are still queued.
  ASSERT_TRUE(testing::WaitFor([&] {
    return executor.Submit([] {}).message() == "the broker is shutting down; retry";
  }));
  const absl::Status late = executor.Submit([&] { ran += 100; });
  EXPECT_EQ(late.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(late.message(), "the broker is shutting down; retry");
  blocker.release.Notify();
  stopper.join();
  EXPECT_EQ(ran.load(), 3);
  executor.Shutdown();  // idempotent
}

TEST(StoreExecutorTest, TasksMaySubmitMoreTasks) {
  StoreExecutor executor({.threads = 1, .queue_limit = 4});
  absl::Notification second_ran;
  ASSERT_TRUE(
      executor.Submit([&] { ASSERT_TRUE(executor.Submit([&] { second_ran.Notify(); }).ok()); })
          .ok());
  EXPECT_TRUE(second_ran.WaitForNotificationWithTimeout(kBound));
}

}  // namespace
}  // namespace hart
