// A Scheduler for tests: nothing runs until the test calls RunDue(), which
// runs what is due at the ManualClock's now, earliest first. Deterministic:
// no threads of its own.
//
// Thread safety: RunAt, Cancel and the queries may be called from any
// thread; callbacks run on the thread calling RunDue, without the lock.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "broker/clock.h"
#include "broker/scheduler.h"

namespace hart::testing {

class ManualScheduler final : public Scheduler {
 public:
  // `clock` must outlive the scheduler.
  explicit ManualScheduler(const ManualClock& clock) : clock_(clock) {}

  uint64_t RunAt(absl::Time when, std::function<void()> fn) override {
    absl::MutexLock lock(&mu_);
    const uint64_t id = next_id_++;
    pending_.emplace(Key{when, id}, std::move(fn));
    due_by_id_.emplace(id, when);
    return id;
  }

  bool Cancel(uint64_t id) override {
    absl::MutexLock lock(&mu_);
    auto it = due_by_id_.find(id);
    if (it == due_by_id_.end()) return false;
    pending_.erase(Key{it->second, id});
    due_by_id_.erase(it);
    return true;
  }

  // Runs every callback due at the clock's now (including ones scheduled by
  // callbacks, if due), earliest first; returns how many ran.
  size_t RunDue() {
    size_t ran = 0;
    for (;;) {
      std::function<void()> fn;
      {
        absl::MutexLock lock(&mu_);
        auto first = pending_.begin();
        if (first == pending_.end() || first->first.first > clock_.Now()) return ran;
        fn = std::move(first->second);
        due_by_id_.erase(first->first.second);
        pending_.erase(first);
      }
      fn();
      ++ran;
    }
  }

  // Callbacks not yet run nor cancelled.
  size_t pending() const {
    absl::MutexLock lock(&mu_);
    return pending_.size();
  }

  // When the earliest pending callback is due.
  std::optional<absl::Time> NextDue() const {
    absl::MutexLock lock(&mu_);
    if (pending_.empty()) return std::nullopt;
    return pending_.begin()->first.first;
  }

 private:
  using Key = std::pair<absl::Time, uint64_t>;

  const ManualClock& clock_;
  mutable absl::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<Key, std::function<void()>> pending_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, absl::Time> due_by_id_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hart::testing
