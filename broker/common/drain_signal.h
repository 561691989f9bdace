// Tells long-lived work (open streams) that the broker is draining: each
// listener runs once, when Drain() is called, or at once if it already was.
// A stream listens when it opens and forgets when it is done.
//
// Thread safety: every method may be called from any thread. Listeners run
// with the signal's lock held (so that Forget can promise they are not
// running): they must be quick and must not call Listen or Forget.
// Header-only, like callback_gate.h.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace hart {

class DrainSignal {
 public:
  using Token = uint64_t;

  // Runs `on_drain` once when the broker drains: on the thread calling
  // Drain, or now on this thread if Drain was called already (then the
  // token is 0, which Forget ignores).
  Token Listen(std::function<void()> on_drain) {
    absl::MutexLock lock(&mu_);
    if (draining_.load(std::memory_order_relaxed)) {
      on_drain();
      return 0;
    }
    const Token token = next_token_++;
    listeners_.emplace(token, std::move(on_drain));
    return token;
  }

  // After Forget returns, the listener is not running and never runs.
  void Forget(Token token) {
    absl::MutexLock lock(&mu_);
    listeners_.erase(token);
  }

  // Runs every listener, once each. Idempotent.
  void Drain() {
    absl::MutexLock lock(&mu_);
    if (draining_.load(std::memory_order_relaxed)) return;
    draining_.store(true, std::memory_order_release);
    for (auto& listener : listeners_) listener.second();
    listeners_.clear();
  }

  // Lock-free: every call's authorization asks.
  bool draining() const { return draining_.load(std::memory_order_acquire); }

 private:
  absl::Mutex mu_;
  std::atomic<bool> draining_{false};  // written under mu_
  Token next_token_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<Token, std::function<void()>> listeners_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hart
