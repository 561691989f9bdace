// What the core asks of escalation ladders (SPEC §5). EscalationLadders
// plans them from the config; NoLadders is the policy without any, so no
// collaborator ever holds a null ladder pointer.
//
// Immutable; safe to share across threads.
#pragma once

#include <optional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/records.h"

namespace hart {

class Ladders {
 public:
  virtual ~Ladders() = default;
  // The timer of step 1 for a new REFERRAL delivery, if its kind has a ladder.
  virtual std::optional<TimerRecord> FirstStep(const DeliveryRecord& delivery) const = 0;
  // Starting the ladder now (declined, undeliverable): step 1 at `at`.
  virtual std::optional<LadderTrigger> TriggerNow(v1::AgencyKind kind, absl::Time at,
                                                  v1::EscalationReason reason) const = 0;
  // What a fired ladder timer writes.
  virtual absl::StatusOr<EscalationWrite> Plan(const TimerRecord& timer,
                                               const DeliveryRecord& delivery,
                                               const ReferralRecord& referral,
                                               absl::Time now) const = 0;
};

// No ladders at all: nothing is scheduled, and a ladder timer left from an
// earlier configuration ends quietly.
class NoLadders final : public Ladders {
 public:
  static const NoLadders& Instance() {
    static const NoLadders none;
    return none;
  }
  std::optional<TimerRecord> FirstStep(const DeliveryRecord&) const override {
    return std::nullopt;
  }
  std::optional<LadderTrigger> TriggerNow(v1::AgencyKind, absl::Time,
                                          v1::EscalationReason) const override {
    return std::nullopt;
  }
  absl::StatusOr<EscalationWrite> Plan(const TimerRecord& timer, const DeliveryRecord&,
                                       const ReferralRecord&, absl::Time) const override {
    EscalationWrite write;
    write.fired_timer_id = timer.timer_id;
    return write;
  }
};

}  // namespace hart
