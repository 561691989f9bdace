// Lets an object that hands callbacks to other threads (timers, adapters,
// store completions) shut down safely: once closed, no new callback enters,
// and CloseAndWait returns only when every callback that entered has left.
// Hold the gate in a shared_ptr captured by the callbacks when they may run
// after the owner is gone.
//
// Thread safety: all methods may be called from any thread. CloseAndWait
// and Wait must not be called from inside a callback of the same gate.
// Header-only, so adapters may use it without linking broker libraries.
#pragma once

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace hart {

class CallbackGate {
 public:
  // True if the callback may run; it must then call Exit. False once closed.
  bool Enter() {
    absl::MutexLock lock(&mu_);
    if (closed_) return false;
    ++running_;
    return true;
  }
  // The callback is done and touches the owner no more.
  void Exit() {
    absl::MutexLock lock(&mu_);
    --running_;
  }
  // From now on Enter refuses.
  void Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }
  // Returns once no callback is inside.
  void Wait() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &CallbackGate::Idle));
  }
  void CloseAndWait() {
    Close();
    Wait();
  }

 private:
  bool Idle() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return running_ == 0; }

  absl::Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace hart
