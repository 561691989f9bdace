// Escalation ladders (SPEC §5): when a REFERRAL delivery misses its deadline,
// is declined or cannot be delivered, the ladder of its agency kind runs:
// step by step, each a durable timer, each telling its targets through their
// own adapters with an ESCALATION message, until someone ACCEPTS.
//
// Pure planning over the config: the store applies what is planned in one
// transaction. Immutable; safe to share. References must outlive it.
#pragma once

#include <map>
#include <optional>

#include "absl/status/statusor.h"
#include "broker/acks/ladders.h"
#include "broker/common/ids.h"
#include "broker/records.h"
#include "broker/routing/geography.h"

namespace hart {

class EscalationLadders final : public Ladders {
 public:
  EscalationLadders(const cfg::BrokerConfig& config, const Geography& geography, IdGenerator& ids);

  // The timer of step 1 for a new REFERRAL delivery: at its ack deadline
  // plus step 1's delay, or earlier at its delivery deadline when that comes
  // first. nullopt if the delivery's kind has no ladder or it is not a
  // REFERRAL.
  std::optional<TimerRecord> FirstStep(const DeliveryRecord& delivery) const override;

  // Starting the ladder now (declined, undeliverable): step 1 at `at`.
  std::optional<LadderTrigger> TriggerNow(v1::AgencyKind kind, absl::Time at,
                                          v1::EscalationReason reason) const override;

  // What a fired ladder timer does, given the delivery and referral now:
  // nothing more (ACCEPTED or redelivered: the ladder ends), moving to the
  // ack deadline (delivered in time for its delivery deadline), or the
  // step: ESCALATION messages to its targets, the event, the next timer.
  absl::StatusOr<EscalationWrite> Plan(const TimerRecord& timer, const DeliveryRecord& delivery,
                                       const ReferralRecord& referral,
                                       absl::Time now) const override;

  // Problems with the ladders of `config` (unknown kinds, targets that do not
  // resolve), for config validation.
  static std::vector<std::string> Validate(const cfg::BrokerConfig& config,
                                           const Geography& geography);

 private:
  const cfg::EscalationLadder* LadderFor(v1::AgencyKind kind) const;

  const Geography& geography_;
  IdGenerator& ids_;
  std::map<int, const cfg::EscalationLadder*> ladders_;  // by AgencyKind
};

}  // namespace hart
