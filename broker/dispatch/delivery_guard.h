// The guard every push destination gets around its adapter: a circuit
// breaker (a partner that keeps failing is left alone for a while, its
// deliveries deferred without spending attempts), a bound on calls in
// flight (more wait in a queue, URGENT deliveries ahead of NORMAL ones,
// each in arrival order), and a watchdog that answers for an
// adapter that never does. A delivery whose claim lease ran out before it
// got a slot is not sent (it may be claimed again by now: a duplicate);
// nor is one queued that, at the partner's pace so far, would not be
// answered before its lease runs out: it is refused at once, holding the
// agency's backlog in the store until the queue has room for a fresh
// claim (DeliveryResult::holds_destination), so a slow partner's backlog
// is not claimed, queued and given back lease after lease.
// Whatever happens, `done` is called exactly once per delivery.
//
// Thread safety: Deliver may be called from any thread; inner results and
// watchdogs may arrive on any thread. `done` and the inner adapter are never
// called with the guard's lock held. Ownership order: the clock and the
// scheduler outlive the guard; whoever receives `done` (the dispatcher)
// outlives it too, since the destructor answers what is still waiting. The
// destructor does not return while a scheduler callback of this guard runs.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "broker/adapter.h"
#include "broker/adapter_health.h"
#include "broker/common/callback_gate.h"
#include "broker/clock.h"
#include "broker/dispatch/circuit_breaker.h"
#include "broker/scheduler.h"
#include "hart/config/v1/broker_config.pb.h"

namespace hart {

struct DeliveryGuardPolicy {
  // How long one call to the partner may take.
  absl::Duration timeout = absl::Seconds(30);
  // Calls in flight at once (0 means 1); more wait their turn.
  uint32_t max_concurrency = 4;
  // Consecutive transport failures that open the circuit.
  uint32_t failure_threshold = 5;
  // How long an open circuit refuses calls before one probe may try.
  absl::Duration open_for = absl::Seconds(60);
  // The longest open period after failed probes (each doubles the last).
  absl::Duration max_open_for = absl::Minutes(8);
  // The watchdog answers at timeout + grace: the adapter's own timeout
  // should come first, with its more precise error.
  absl::Duration watchdog_grace = absl::Seconds(2);
  // Deliveries waiting for a free slot; beyond, they are deferred (and the
  // agency held) for queue_full_retry_after.
  size_t max_queued = 1024;
  // When a delivery deferred because the queue was full comes back.
  absl::Duration queue_full_retry_after = absl::Seconds(5);

  // An agency's configured limits; unset (zero) fields keep the defaults.
  static DeliveryGuardPolicy FromConfig(const ::hart::config::v1::DeliveryLimits& limits);
};

class GuardedAdapter final : public Adapter {
 public:
  GuardedAdapter(std::string agency_id, std::unique_ptr<Adapter> inner,
                 DeliveryGuardPolicy policy, const Clock& clock, Scheduler& scheduler);
  // Defers what waits in the queue ("broker shutting down"), cancels the
  // watchdogs, destroys the inner adapter (which answers what it has in
  // flight) and fails whatever it left unanswered.
  ~GuardedAdapter() override;
  GuardedAdapter(const GuardedAdapter&) = delete;
  GuardedAdapter& operator=(const GuardedAdapter&) = delete;

  // The inner adapter's type.
  std::string_view type() const override { return type_; }
  void Deliver(const DeliveryRecord& delivery, DoneCallback done) override;

  // A snapshot for the health board.
  AdapterHealth Health() const;
  const std::string& agency_id() const { return agency_id_; }
  const DeliveryGuardPolicy& policy() const { return policy_; }

 private:
  // Lets callbacks in until closed; Close waits for those inside to leave.
  struct Waiting {
    DeliveryRecord delivery;
    DoneCallback done;
  };
  struct Call {
    DoneCallback done;
    CircuitBreaker::Admission admission = CircuitBreaker::Admission::kAdmitted;
    uint64_t watchdog = 0;
    absl::Time admitted_at;
  };

  // Calls in flight at once (max_concurrency; 0 means 1).
  size_t Slots() const { return std::max<uint32_t>(1, policy_.max_concurrency); }
  // How many waiting deliveries go before `delivery` would: every one for a
  // NORMAL delivery, the URGENT ones (at the front) for an URGENT one.
  size_t AheadOfLocked(const DeliveryRecord& delivery) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes a slot for a call the breaker admits; returns its id. The caller
  // must Launch it.
  uint64_t AdmitLocked(absl::Time now, DoneCallback done) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Arms the watchdog and hands the delivery to the inner adapter.
  void Launch(uint64_t call_id, const DeliveryRecord& delivery, absl::Time now);
  void OnInnerResult(uint64_t call_id, DeliveryResult result);
  void OnWatchdog(uint64_t call_id);
  // Starts waiting deliveries while slots are free; one thread at a time
  // (no recursion through synchronous adapters).
  void StartWaiting();
  DeliveryResult CircuitOpenResultLocked(absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The refusal of a delivery that would wait: the queue is full, or at the
  // pace so far it would be answered only after its claim ran out.
  std::optional<DeliveryResult> NoRoomLocked(const DeliveryRecord& delivery, absl::Time now) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A call the partner (or the watchdog) answered after `took`.
  void NoteCallTimeLocked(absl::Duration took) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RecordErrorLocked(absl::Time now, const absl::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void LogTransitionLocked(CircuitBreaker::State before, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string agency_id_;
  const std::string type_;
  std::unique_ptr<Adapter> inner_;
  const DeliveryGuardPolicy policy_;
  const Clock& clock_;
  Scheduler& scheduler_;
  const std::shared_ptr<CallbackGate> watchdog_gate_;
  const std::shared_ptr<CallbackGate> inner_gate_;

  mutable absl::Mutex mu_;
  CircuitBreaker breaker_ ABSL_GUARDED_BY(mu_);
  std::deque<Waiting> waiting_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, Call> in_flight_ ABSL_GUARDED_BY(mu_);
  uint64_t next_call_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool starting_ ABSL_GUARDED_BY(mu_) = false;  // a thread runs StartWaiting
  int launching_ ABSL_GUARDED_BY(mu_) = 0;      // admitted, not yet handed over
  std::optional<absl::Time> probe_deadline_ ABSL_GUARDED_BY(mu_);
  // How long a call takes, a moving average (zero: none answered yet).
  absl::Duration call_time_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Time> last_error_at_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Time> last_success_at_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hart
