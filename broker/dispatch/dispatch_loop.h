// Runs a Dispatcher on its own thread: after every Wake() (new deliveries
// committed, an adapter freed up) and whenever the store says something
// becomes due. Time-based waiting uses the real clock only as a bound; the
// decision of what is due always comes from the injected Clock, so tests
// drive Dispatcher::RunOnce directly instead.
#pragma once

#include <thread>

#include "absl/synchronization/mutex.h"
#include "broker/clock.h"
#include "broker/dispatch/dispatcher.h"

namespace hart {

class DispatchLoop {
 public:
  // `max_idle_wait` bounds how long the loop sleeps without a wake-up.
  DispatchLoop(Dispatcher& dispatcher, Store& store, const Clock& clock,
               absl::Duration max_idle_wait = absl::Seconds(1));
  ~DispatchLoop();  // stops and joins

  void Wake();

 private:
  void Run();

  Dispatcher& dispatcher_;
  Store& store_;
  const Clock& clock_;
  const absl::Duration max_idle_wait_;
  absl::Mutex mu_;
  bool woken_ ABSL_GUARDED_BY(mu_) = true;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace hart
