// Label values of the broker's metrics. Every label takes its values from a
// fixed set (the API's enums, the config's agency ids and adapter types),
// never an id of a referral or delivery, a person or free text: these
// functions are the only way an enum becomes a label value.
#pragma once

#include <string>

#include "broker/dispatch/dispatch_observer.h"
#include "broker/intake/intake_observer.h"
#include "broker/records.h"

namespace hart::metrics {

// The enum value's name in lower case ("local_law_enforcement", "pending",
// "referral", "accepted", "ack_deadline_missed"); "unknown" for a number
// the enum does not name.
std::string AgencyKindLabel(v1::AgencyKind kind);
std::string DeliveryStateLabel(v1::DeliveryState state);
std::string MessageKindLabel(v1::MessageKind kind);
std::string AckKindLabel(v1::Acknowledgement::Kind kind);
std::string EscalationReasonLabel(v1::EscalationReason reason);

// "created", "duplicate", "conflict", "invalid", "unavailable", "failed".
std::string IntakeOutcomeLabel(IntakeOutcome outcome);
// "handed_off", "delivered", "retry", "deferred", "dead".
std::string AttemptResultLabel(AttemptResult result);

}  // namespace hart::metrics
