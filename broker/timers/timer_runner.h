// Fires durable timers: when a time-driven rule's moment comes (e.g.
// missing_since + 72 h), the referral is routed again with nobody touching
// it, and whatever the rule now calls for is sent; when an escalation
// ladder's step is due, the step runs. Timers live in the store, so a
// restarted broker fires them on time, each exactly once.
//
// Ladder steps claimed together are written together (one group commit).
//
// Thread safety: RunOnce from one thread at a time. References must outlive it.
#pragma once

#include "broker/acks/ladders.h"

#include <functional>
#include <span>

#include "absl/status/statusor.h"
#include "broker/clock.h"
#include "broker/intake/referral_updater.h"
#include "broker/store.h"
#include "broker/store/write_queue.h"
#include "broker/timers/timer_observer.h"

namespace hart {

class TimerRunner {
 public:
  // Claims and reads through `store`; a firing is written through
  // `writes` (the writer queue), waiting for its commit. `on_change` runs
  // after a firing created deliveries; `on_escalation` after an escalation
  // step was stored, with its sequence. Both may be empty; `ladders` may be
  // NoLadders (ladder timers then end quietly). `observer` (may be null)
  // hears of each escalation step that ran.
  TimerRunner(Store& store, WriteQueue& writes, const ReferralUpdater& updater,
              const Ladders& ladders, const Clock& clock, absl::Duration lease,
              std::function<void()> on_change, std::function<void(uint64_t)> on_escalation = {},
              TimerObserver* observer = nullptr)
      : store_(store),
        writes_(writes),
        updater_(updater),
        ladders_(ladders),
        clock_(clock),
        lease_(lease),
        on_change_(std::move(on_change)),
        on_escalation_(std::move(on_escalation)),
        observer_(observer) {}

  // Timers claimed per pass. A claim is a write transaction of its own
  // (outside the writer queue) that holds the store's write lock: on a
  // store of a million referrals in an escalation storm a claim of 64 held
  // it 9-15 ms, and a supervisor's audited read waited behind it
  // (GetReferral p99 19-25 ms against 15-17 ms with 16, issue 15).
  static constexpr size_t kClaimBatch = 16;

  // Fires up to kClaimBatch timers due now; returns how many fired.
  absl::StatusOr<size_t> RunOnce();

 private:
  // A claimed ladder step's delivery and the write that runs the step.
  struct PlannedStep {
    DeliveryRecord delivery;
    EscalationWrite write;
  };
  // A time-driven rule's timer: the referral is routed again.
  absl::Status FireRuleTimer(const TimerRecord& timer, absl::Time now);
  absl::StatusOr<PlannedStep> PlanLadderStep(const TimerRecord& timer, absl::Time now);
  // Writes the steps together (one group commit) and answers each; returns
  // how many ran (or had nothing left to do).
  size_t FireLadderSteps(std::span<const TimerRecord* const> timers, absl::Time now);
  static void LogFailure(const TimerRecord& timer, const absl::Status& status);

  Store& store_;
  WriteQueue& writes_;
  const ReferralUpdater& updater_;
  const Ladders& ladders_;
  const Clock& clock_;
  const absl::Duration lease_;
  const std::function<void()> on_change_;
  const std::function<void(uint64_t)> on_escalation_;
  TimerObserver* const observer_;
};

}  // namespace hart
