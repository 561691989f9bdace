// Where blocking store calls run, so that threads which must not block
// (gRPC callback reactions, the push adapters' event loop, topic wake-ups)
// only enqueue. A fixed number of workers take tasks in FIFO order from a
// bounded queue. When the queue is full, Submit refuses at once with
// UNAVAILABLE and runs nothing: the caller answers its client with that
// status and the client retries (the store is the bottleneck; queueing
// without bound would only turn overload into timeouts and memory).
//
// Knows nothing about any store: it runs functions.
//
// Thread safety: every method may be called from any thread, Submit also
// from a task. Shutdown (and the destructor) must not be called from a
// task. Whatever a task refers to must outlive it: the owner drains the
// executor (Shutdown) before destroying what queued tasks use.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace hart {

struct StoreExecutorOptions {
  // Worker threads (0 means 1). Default: 4.
  uint32_t threads = 4;
  // Tasks waiting for a worker; beyond this Submit refuses (0 means 1).
  // Default: 4096.
  size_t queue_limit = 4096;
  // The workers' nice value (Linux: per thread): above 0 for work that
  // should give the CPU up to the requests on a busy machine. Default: 0.
  int nice = 0;
};

class StoreExecutor {
 public:
  // Workers are named this plus their number ("hart-store-0").
  static constexpr char kThreadNamePrefix[] = "hart-store-";

  explicit StoreExecutor(StoreExecutorOptions options = {});
  // Shutdown().
  ~StoreExecutor();
  StoreExecutor(const StoreExecutor&) = delete;
  StoreExecutor& operator=(const StoreExecutor&) = delete;

  // Queues `task` to run on a worker. Never blocks. UNAVAILABLE without
  // running (or keeping) anything when the queue is full or the executor is
  // shutting down.
  absl::Status Submit(std::function<void()> task);

  // Runs `work` on a worker and hands its result to `done` there. When
  // refused, `done` gets the refusal instead, at once on the calling
  // thread: its parameter must be constructible from absl::Status (an
  // absl::Status or absl::StatusOr<T>). `work` and `done` must be copyable.
  template <typename Work, typename Done>
  void Run(Work work, Done done) {
    auto shared_done = std::make_shared<Done>(std::move(done));
    absl::Status queued =
        Submit([work = std::move(work), shared_done]() mutable { (*shared_done)(work()); });
    if (!queued.ok()) (*shared_done)(std::move(queued));
  }

  // Stops accepting tasks, runs every task already queued, joins the
  // workers. Idempotent.
  void Shutdown();

  // Tasks waiting for a worker (not counting running ones).
  size_t queue_length() const;
  // Tasks Submit refused since the executor started (full or shutting
  // down), for metrics.
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }
  // The most tasks that may wait.
  size_t capacity() const { return queue_limit_; }
  size_t threads() const { return workers_.size(); }

 private:
  void Work();
  bool HasWorkOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t queue_limit_;
  mutable absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<uint64_t> refused_{0};
  absl::Mutex join_mu_;  // one Shutdown joins; a concurrent one waits for it
  std::vector<std::thread> workers_;  // last: they start once the rest exists
};

}  // namespace hart
