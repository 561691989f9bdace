#include "broker/store/store_executor.h"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <string>

namespace hart {

StoreExecutor::StoreExecutor(StoreExecutorOptions options)
    : queue_limit_(std::max<size_t>(1, options.queue_limit)) {
  const uint32_t threads = std::max<uint32_t>(1, options.threads);
  workers_.reserve(threads);
  for (uint32_t i = 0; i < threads; ++i) {
    workers_.emplace_back([this, i, nice = options.nice] {
      // Named for `top -H` and stack dumps (at most 15 characters).
      pthread_setname_np(pthread_self(), (kThreadNamePrefix + std::to_string(i)).c_str());
      // Best effort: at worst the work competes as any other thread does.
      if (nice != 0) setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), nice);
      Work();
    });
  }
}

StoreExecutor::~StoreExecutor() { Shutdown(); }

absl::Status StoreExecutor::Submit(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  if (stopping_) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    return absl::UnavailableError("the broker is shutting down; retry");
  }
  if (queue_.size() >= queue_limit_) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    return absl::UnavailableError("the store is busy; retry");
  }
  queue_.push_back(std::move(task));
  return absl::OkStatus();
}

void StoreExecutor::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  absl::MutexLock join_lock(&join_mu_);
  for (std::thread& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
}

size_t StoreExecutor::queue_length() const {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

bool StoreExecutor::HasWorkOrStopping() const { return stopping_ || !queue_.empty(); }

void StoreExecutor::Work() {
  for (;;) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &StoreExecutor::HasWorkOrStopping));
      if (queue_.empty()) return;  // stopping, and everything queued has run
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace hart
