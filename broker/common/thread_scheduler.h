// The production Scheduler: one thread that sleeps until the earliest
// pending callback is due (by `clock`, assumed to move with real time) and
// runs callbacks one at a time in time order.
//
// Thread safety: RunAt and Cancel from any thread. Callbacks run on the
// scheduler's thread and should be short. The destructor drops pending
// callbacks, waits for a running one to finish and joins the thread; it must
// not be called from a callback.
#pragma once

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
  using Key = std::pair<absl::Time, uint64_t>;  // due time, then schedule order
  void Loop();

  const Clock& clock_;
  absl::Mutex mu_;
  absl::CondVar changed_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<Key, std::function<void()>> pending_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, absl::Time> due_by_id_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace hart
