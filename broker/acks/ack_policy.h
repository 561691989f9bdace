// The acknowledgement rules of the delivery state machine (SPEC §5):
//   RECEIVED  (transport): PENDING/IN_FLIGHT/DEAD -> DELIVERED
//   ACCEPTED  (business):  PENDING/IN_FLIGHT/DELIVERED/DEAD -> ACKNOWLEDGED
//   DECLINED  (business, note required): same sources -> DECLINED
// Repeats are no-ops; a business ack contradicting an earlier one is refused.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "hart/referral/v1/common.pb.h"

namespace hart {

inline constexpr size_t kMaxAckNoteBytes = 4096;

struct AckTransition {
  hart::referral::v1::DeliveryState new_state;
  bool changes_state = false;  // false: a repeat, nothing to record
};

absl::StatusOr<AckTransition> NextStateForAck(
    hart::referral::v1::DeliveryState current,
    hart::referral::v1::Acknowledgement::Kind kind, const std::string& note);

}  // namespace hart
