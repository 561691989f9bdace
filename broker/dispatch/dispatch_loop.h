// Runs the broker's due work on one thread: the dispatcher (outbox) and the
// timer runner, after every Wake(), after a commit whose new work is due
// before the planned turn (WakeForWorkDue), and whenever the store says
// something becomes due. Time-based waiting uses the real
// clock only as a bound; what is due always comes from the injected Clock,
// so tests call each pass's RunOnce directly instead.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "broker/clock.h"
#include "broker/dispatch/dispatcher.h"

namespace hart {

class DispatchLoop {
 public:
  // One pass: does what is due now, returns how much it did.
  using Pass = std::function<absl::StatusOr<size_t>()>;

  // The agencies the claims skip for now (Dispatcher::Holds).
  using HoldsFn = std::function<std::vector<AgencyHold>()>;

  // `due_work` runs only when the store says something is due (claims are
  // write transactions: not worth taking for nothing), a held agency's
  // deliveries not before its hold ends (`holds`, may be empty);
  // `maintenance` on the first turn, then on the first turn at least
  // `maintenance_interval` (by `clock`) after its last run: under load the
  // loop turns hundreds of times a second (another replica's every commit
  // wakes it), and renewing the leader lease is a write transaction.
  // `max_idle_wait` bounds how long the loop sleeps.
  DispatchLoop(std::vector<Pass> due_work, std::vector<Pass> maintenance, Store& store,
               const Clock& clock, HoldsFn holds = {},
               absl::Duration max_idle_wait = absl::Seconds(1),
               absl::Duration maintenance_interval = absl::Seconds(1));
  ~DispatchLoop();  // stops and joins

  // Something changed that may be due now (a supplement, a timer's step,
  // another replica's commit): the loop looks at the store again.
  void Wake();
  // A commit added work first due at `due` (a new delivery's next attempt,
  // a new timer): wakes the loop only if that comes before the turn it
  // planned, or while it plans one. An intake whose deliveries all went on
  // feeds adds nothing due before its ladders, and costs the loop no turn.
  void WakeForWorkDue(absl::Time due);
  // The earliest work `referral` adds for the loop: its PENDING deliveries'
  // next attempts, a held agency's not before its hold ends (`holds`, as
  // the claims skip them), and its timers (nullopt: none). Without the
  // holds, every intake would wake the loop for a partner whose endpoint is
  // down, to find nothing it may claim.
  static std::optional<absl::Time> FirstDueWork(const NewReferral& referral,
                                                std::span<const AgencyHold> holds = {});

  // For tests: a wake is waiting for the loop's next turn; the turn the
  // loop planned (nullopt while it plans one).
  bool WakePending();
  std::optional<absl::Time> PlannedTurn();

 private:
  void Run();

  const std::vector<Pass> due_work_;
  const std::vector<Pass> maintenance_;
  Store& store_;
  const Clock& clock_;
  const HoldsFn holds_;
  const absl::Duration max_idle_wait_;
  const absl::Duration maintenance_interval_;
  absl::Time next_maintenance_ = absl::InfinitePast();  // the loop's thread only
  absl::Mutex mu_;
  bool woken_ ABSL_GUARDED_BY(mu_) = true;
  // Between reading the store and starting to wait: any new work wakes.
  bool planning_ ABSL_GUARDED_BY(mu_) = true;
  absl::Time planned_turn_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace hart
