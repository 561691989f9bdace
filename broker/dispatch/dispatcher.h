// The outbox drain: claims due deliveries from the store and hands each to
// its agency's adapter; records what came back (delivered, retry later with
// backoff, dead after the attempt budget). Adapters answer asynchronously,
// so one slow destination never holds up the others. Answers given while
// RunOnce hands deliveries out (a guard's refusal: circuit open, queue
// full) are recorded together in one store write at the end of the pass:
// a partner down for hours has its whole backlog deferred again each time
// its circuit's open period ends, and one commit (one fsync) per deferred
// delivery would keep the dispatcher (and the store's writer) busy for the
// others' deliveries in proportion to that backlog. Nor is that backlog
// claimed batch by batch only to be refused again: a refusal for the whole
// destination (DeliveryResult::holds_destination) holds the agency until
// the time it gave (AgencyHold), and the claims and the store's next due
// time skip a held agency's deliveries without rewriting them, so an open
// period costs a claim batch of deferrals, whatever the backlog.
//
// Thread safety: RunOnce may be called from one thread at a time; adapter
// callbacks may arrive on any thread. Store, clock and random must outlive
// the dispatcher. An adapter answering after the dispatcher is gone is
// ignored (the delivery's claim lease expires and it is tried again), so
// shutdown order cannot turn a late answer into a crash.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/acks/ladders.h"
#include "broker/adapter.h"
#include "broker/clock.h"
#include "broker/dispatch/backoff.h"
#include "broker/dispatch/dispatch_observer.h"
#include "broker/random.h"
#include "broker/store.h"

namespace hart {

// How long one destination may keep failing before its delivery is DEAD.
struct RetryBudget {
  // Attempts before DEAD. Default: 8.
  uint32_t max_attempts = 8;
  // Time since the delivery was created before DEAD. Default: 24 h.
  absl::Duration max_duration = absl::Hours(24);
};

struct DispatchPolicy {
  // The budget of agencies without their own.
  RetryBudget budget;
  BackoffPolicy backoff;
  // How long a claim lasts before another dispatcher may retake it.
  absl::Duration claim_lease = absl::Seconds(60);
  // Deliveries claimed per round trip.
  size_t claim_batch = 256;
};

class Dispatcher {
 public:
  // `ladders` start the escalation ladder of a delivery that
  // goes DEAD; `budgets_by_agency` override the policy's budget.
  // `observer` (may be null; must outlive the dispatcher) hears how each
  // attempt ended.
  Dispatcher(Store& store, std::map<std::string, Adapter*> adapters_by_agency,
             const Clock& clock, RandomSource& random, DispatchPolicy policy,
             const Ladders& ladders = NoLadders::Instance(),
             std::map<std::string, RetryBudget> budgets_by_agency = {},
             DispatchObserver* observer = nullptr);

  // Waits for answers being recorded; later answers are ignored.
  ~Dispatcher();

  // Claims what is due now and hands it to adapters; returns how many were
  // handed over (outcomes may still be pending).
  absl::StatusOr<size_t> RunOnce();

  // The agencies whose destination refuses everything for now, and until
  // when: what the claims skip, for the dispatch loop's NextDueTime too.
  // Any thread.
  std::vector<AgencyHold> Holds();

 private:
  // Shared with every pending adapter callback: answers run under its
  // reader lock while `alive`; the destructor takes the writer lock.
  struct Lifeline {
    absl::Mutex mu;
    bool alive ABSL_GUARDED_BY(mu) = true;
  };

  // A claimed delivery and how its attempt ended, to be recorded.
  struct Answer {
    DeliveryRecord delivery;
    DeliveryOutcome outcome;
  };

  // Records `result` at once, or adds it to RunOnce's batch when it came
  // on RunOnce's own thread while it hands deliveries out.
  void OnResult(const DeliveryRecord& delivery, DeliveryResult result);
  // The outcome to record; none when the adapter took the delivery and
  // reports it itself (a feed).
  std::optional<DeliveryOutcome> OutcomeOf(const DeliveryRecord& delivery,
                                           DeliveryResult result);
  // One store write for all of `answers`; if the store refuses it, each
  // on its own, so one refused outcome does not hold back the others.
  void Record(std::span<const Answer> answers);
  // Remembers that `agency_id` refuses everything until `until`.
  void NoteHold(const std::string& agency_id, absl::Time until);

  Store& store_;
  const std::map<std::string, Adapter*> adapters_;
  const Clock& clock_;
  RandomSource& random_;
  const DispatchPolicy policy_;
  const Ladders& ladders_;
  const std::map<std::string, RetryBudget> budgets_;
  DispatchObserver* const observer_;
  const std::shared_ptr<Lifeline> lifeline_ = std::make_shared<Lifeline>();
  absl::Mutex holds_mu_;
  std::map<std::string, absl::Time> holds_ ABSL_GUARDED_BY(holds_mu_);
};

}  // namespace hart
