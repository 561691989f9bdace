// Records partners' acknowledgements against the delivery state machine,
// with an audit event in the same transaction.
//
// Thread safety: safe to call concurrently; concurrent acks of one delivery
// are serialised by the store's compare-and-set.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "broker/acks/escalation_ladders.h"
#include "broker/clock.h"
#include "broker/store.h"

namespace hart {

struct AckOutcome {
  v1::DeliveryState state = v1::DELIVERY_STATE_UNSPECIFIED;
  // The audit event that recorded the ack; unset for a repeat that changed
  // nothing.
  std::optional<uint64_t> audit_index;
};

class AckRecorder {
 public:
  // `ladders` may be null (declines then start no ladder).
  AckRecorder(Store& store, const Clock& clock, const EscalationLadders* ladders = nullptr)
      : store_(store), clock_(clock), ladders_(ladders) {}

  // `agency_id` is the caller's agency: PERMISSION_DENIED (and nothing
  // changes) if the delivery belongs to another agency; empty when a
  // supervisor acknowledges on the agency's behalf (`actor` says who).
  // ACCEPTED stops the delivery's escalation ladder; DECLINED starts it at
  // once. Returns the delivery's state afterwards.
  absl::StatusOr<AckOutcome> Acknowledge(const std::string& agency_id,
                                         const std::string& delivery_id,
                                         v1::Acknowledgement::Kind kind, const std::string& note,
                                         const std::string& actor,
                                         const std::string& on_behalf_reason = "");

 private:
  Store& store_;
  const Clock& clock_;
  const EscalationLadders* ladders_;
};

}  // namespace hart
