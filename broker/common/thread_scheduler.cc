#include "broker/common/thread_scheduler.h"

namespace hart {

ThreadScheduler::ThreadScheduler(const Clock& clock)
    : clock_(clock), thread_([this] { Loop(); }) {}

ThreadScheduler::~ThreadScheduler() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    pending_.clear();
    due_by_id_.clear();
    changed_.Signal();
  }
  thread_.join();
}

uint64_t ThreadScheduler::RunAt(absl::Time when, std::function<void()> fn) {
  absl::MutexLock lock(&mu_);
  const uint64_t id = next_id_++;
  if (stopping_) return id;  // never runs: the scheduler is going away
  pending_.emplace(Key{when, id}, std::move(fn));
  due_by_id_.emplace(id, when);
  changed_.Signal();
  return id;
}

bool ThreadScheduler::Cancel(uint64_t id) {
  absl::MutexLock lock(&mu_);
  auto it = due_by_id_.find(id);
  if (it == due_by_id_.end()) return false;
  pending_.erase(Key{it->second, id});
  due_by_id_.erase(it);
  changed_.Signal();
  return true;
}

void ThreadScheduler::Loop() {
  mu_.Lock();
  while (!stopping_) {
    if (pending_.empty()) {
      changed_.Wait(&mu_);
      continue;
    }
    auto first = pending_.begin();
    const absl::Duration wait = first->first.first - clock_.Now();
    if (wait > absl::ZeroDuration()) {
      changed_.WaitWithTimeout(&mu_, wait);
      continue;  // re-check: something earlier may have arrived, or a cancel
    }
    std::function<void()> fn = std::move(first->second);
    due_by_id_.erase(first->first.second);
    pending_.erase(first);
    mu_.Unlock();
    fn();
    fn = nullptr;  // release captures outside the lock as well
    mu_.Lock();
  }
  mu_.Unlock();
}

}  // namespace hart
