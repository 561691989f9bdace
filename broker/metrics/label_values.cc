#include "broker/metrics/label_values.h"

#include "absl/strings/ascii.h"

namespace hart::metrics {
namespace {

std::string Lower(const std::string& name) {
  return name.empty() ? "unknown" : absl::AsciiStrToLower(name);
}

}  // namespace

std::string AgencyKindLabel(v1::AgencyKind kind) { return Lower(v1::AgencyKind_Name(kind)); }

std::string DeliveryStateLabel(v1::DeliveryState state) {
  return Lower(v1::DeliveryState_Name(state));
}

std::string MessageKindLabel(v1::MessageKind kind) { return Lower(v1::MessageKind_Name(kind)); }

std::string AckKindLabel(v1::Acknowledgement::Kind kind) {
  return Lower(v1::Acknowledgement::Kind_Name(kind));
}

std::string EscalationReasonLabel(v1::EscalationReason reason) {
  return Lower(v1::EscalationReason_Name(reason));
}

std::string IntakeOutcomeLabel(IntakeOutcome outcome) {
  switch (outcome) {
    case IntakeOutcome::kCreated:
      return "created";
    case IntakeOutcome::kDuplicate:
      return "duplicate";
    case IntakeOutcome::kConflict:
      return "conflict";
    case IntakeOutcome::kInvalid:
      return "invalid";
    case IntakeOutcome::kUnavailable:
      return "unavailable";
    case IntakeOutcome::kFailed:
      return "failed";
  }
  return "unknown";
}

std::string AttemptResultLabel(AttemptResult result) {
  switch (result) {
    case AttemptResult::kHandedOff:
      return "handed_off";
    case AttemptResult::kDelivered:
      return "delivered";
    case AttemptResult::kRetry:
      return "retry";
    case AttemptResult::kDeferred:
      return "deferred";
    case AttemptResult::kDead:
      return "dead";
  }
  return "unknown";
}

}  // namespace hart::metrics
