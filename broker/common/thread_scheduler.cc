#include "broker/common/thread_scheduler.h"

#include <algorithm>

namespace hart {

ThreadScheduler::ThreadScheduler(const Clock& clock)
    : clock_(clock), thread_([this] { Loop(); }) {}

ThreadScheduler::~ThreadScheduler() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    pending_.clear();
    by_steady_.clear();
    due_by_id_.clear();
    changed_.Signal();
  }
  thread_.join();
}

uint64_t ThreadScheduler::RunAt(absl::Time when, std::function<void()> fn) {
  // Clamped: `when` may be absl::InfiniteFuture(), and the steady clock's
  // time_point must not overflow.
  constexpr absl::Duration kFarAhead = absl::Hours(24 * 365 * 50);
  const absl::Duration ahead =
      std::clamp(when - clock_.Now(), absl::ZeroDuration(), kFarAhead);
  const Steady steady_due = std::chrono::steady_clock::now() +
                            std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                absl::ToChronoNanoseconds(ahead));
  absl::MutexLock lock(&mu_);
  const uint64_t id = next_id_++;
  if (stopping_) return id;  // never runs: the scheduler is going away
  pending_.emplace(Key{when, id}, Pending{std::move(fn), steady_due});
  by_steady_.emplace(SteadyKey{steady_due, id}, when);
  due_by_id_.emplace(id, when);
  changed_.Signal();
  return id;
}

bool ThreadScheduler::Cancel(uint64_t id) {
  absl::MutexLock lock(&mu_);
  auto it = due_by_id_.find(id);
  if (it == due_by_id_.end()) return false;
  auto entry = pending_.find(Key{it->second, id});
  if (entry != pending_.end()) TakeLocked(entry);
  return true;
}

std::function<void()> ThreadScheduler::TakeLocked(std::map<Key, Pending>::iterator it) {
  const uint64_t id = it->first.second;
  std::function<void()> fn = std::move(it->second.fn);
  by_steady_.erase(SteadyKey{it->second.steady_due, id});
  due_by_id_.erase(id);
  pending_.erase(it);
  changed_.Signal();
  return fn;
}

void ThreadScheduler::Loop() {
  mu_.Lock();
  while (!stopping_) {
    if (pending_.empty()) {
      changed_.Wait(&mu_);
      continue;
    }
    // The first by the clock, and the first by elapsed time: whichever is due.
    auto by_clock = pending_.begin();
    const absl::Duration clock_wait = by_clock->first.first - clock_.Now();
    const auto& [steady_key, steady_when] = *by_steady_.begin();
    const absl::Duration steady_wait =
        absl::FromChrono(steady_key.first - std::chrono::steady_clock::now());
    auto due = pending_.end();
    if (clock_wait <= absl::ZeroDuration()) {
      due = by_clock;
    } else if (steady_wait <= absl::ZeroDuration()) {
      due = pending_.find(Key{steady_when, steady_key.second});
    }
    if (due == pending_.end()) {
      changed_.WaitWithTimeout(&mu_, std::min(clock_wait, steady_wait));
      continue;  // re-check: something earlier may have arrived, or a cancel
    }
    std::function<void()> fn = TakeLocked(due);
    mu_.Unlock();
    fn();
    fn = nullptr;  // release captures outside the lock as well
    mu_.Lock();
  }
  mu_.Unlock();
}

}  // namespace hart
