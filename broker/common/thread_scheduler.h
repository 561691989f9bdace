// The production Scheduler: one thread that sleeps until the earliest
// pending callback is due and runs callbacks one at a time in time order.
//
// Due means: `clock` reached `when`, or as much real time passed as `when`
// was ahead of `clock` when it was scheduled, whichever comes first. A wall
// clock stepped back (NTP, an operator) must not hold periodic work: a pass
// every 200 ms scheduled just before a 10-minute step back would otherwise
// wait 10 minutes, and everything that counts on it with it. Stepped
// forward, what fell due runs at once. Callers that need `when` itself
// (a deadline) check the clock when called and schedule again.
//
// Thread safety: RunAt and Cancel from any thread. Callbacks run on the
// scheduler's thread and should be short. The destructor drops pending
// callbacks, waits for a running one to finish and joins the thread; it must
// not be called from a callback.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <thread>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "broker/clock.h"
#include "broker/scheduler.h"

namespace hart {

class ThreadScheduler final : public Scheduler {
 public:
  // `clock` must outlive the scheduler.
  explicit ThreadScheduler(const Clock& clock);
  ~ThreadScheduler() override;
  ThreadScheduler(const ThreadScheduler&) = delete;
  ThreadScheduler& operator=(const ThreadScheduler&) = delete;

  uint64_t RunAt(absl::Time when, std::function<void()> fn) override;
  bool Cancel(uint64_t id) override;

 private:
  using Steady = std::chrono::steady_clock::time_point;
  using Key = std::pair<absl::Time, uint64_t>;     // due time, then schedule order
  using SteadyKey = std::pair<Steady, uint64_t>;  // the same by elapsed time
  struct Pending {
    std::function<void()> fn;
    Steady steady_due;
  };
  void Loop();
  // Takes `it` out of both indexes; returns its callback.
  std::function<void()> TakeLocked(std::map<Key, Pending>::iterator it)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock& clock_;
  absl::Mutex mu_;
  absl::CondVar changed_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<Key, Pending> pending_ ABSL_GUARDED_BY(mu_);
  std::map<SteadyKey, absl::Time> by_steady_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, absl::Time> due_by_id_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace hart
