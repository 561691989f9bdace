#include "broker/acks/ack_policy.h"

#include "absl/strings/str_cat.h"

namespace hart {

namespace v1 = ::hart::referral::v1;

absl::StatusOr<AckTransition> NextStateForAck(v1::DeliveryState current,
                                              v1::Acknowledgement::Kind kind,
                                              const std::string& note) {
  if (note.size() > kMaxAckNoteBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("note is ", note.size(), " bytes; at most ", kMaxAckNoteBytes,
                     " are allowed"));
  }
  const bool business_done = current == v1::ACKNOWLEDGED || current == v1::DECLINED;
  switch (kind) {
    case v1::Acknowledgement::RECEIVED:
      if (current == v1::DELIVERED || business_done) return AckTransition{current, false};
      return AckTransition{v1::DELIVERED, true};
    case v1::Acknowledgement::ACCEPTED:
      if (current == v1::ACKNOWLEDGED) return AckTransition{current, false};
      if (current == v1::DECLINED) {
        return absl::FailedPreconditionError(
            "this delivery was declined; a supervisor must redeliver it before it "
            "can be accepted");
      }
      return AckTransition{v1::ACKNOWLEDGED, true};
    case v1::Acknowledgement::DECLINED:
      if (note.empty()) {
        return absl::InvalidArgumentError(
            "a DECLINED acknowledgement needs a note giving the reason");
      }
      if (current == v1::DECLINED) return AckTransition{current, false};
      if (current == v1::ACKNOWLEDGED) {
        return absl::FailedPreconditionError(
            "this delivery was already accepted; call the HART coordinator to hand "
            "it back");
      }
      return AckTransition{v1::DECLINED, true};
    default:
      return absl::InvalidArgumentError(
          "kind must be RECEIVED, ACCEPTED or DECLINED");
  }
}

}  // namespace hart
