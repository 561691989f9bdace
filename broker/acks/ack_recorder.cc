#include "broker/acks/ack_recorder.h"

#include "absl/strings/str_cat.h"
#include "broker/acks/ack_policy.h"
#include "broker/common/sha256.h"
#include "broker/common/time_util.h"

namespace hart {
namespace {

std::string AckActionName(v1::Acknowledgement::Kind kind) {
  switch (kind) {
    case v1::Acknowledgement::RECEIVED: return "received";
    case v1::Acknowledgement::ACCEPTED: return "accepted";
    case v1::Acknowledgement::DECLINED: return "declined";
    default: return "unknown";
  }
}

}  // namespace

absl::StatusOr<AckOutcome> AckRecorder::Acknowledge(
    const std::string& agency_id, const std::string& delivery_id,
    v1::Acknowledgement::Kind kind, const std::string& note, const std::string& actor,
    const std::string& on_behalf_reason) {
  // A concurrent ack of the same delivery makes the compare-and-set lose;
  // re-read and re-decide a few times.
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto delivery = store_.GetDelivery(delivery_id);
    if (!delivery.ok()) return delivery.status();
    if (!agency_id.empty() && delivery->agency_id != agency_id) {
      return absl::PermissionDeniedError(
          absl::StrCat("delivery ", delivery_id, " is not addressed to agency ", agency_id));
    }
    auto transition = NextStateForAck(delivery->state, kind, note);
    if (!transition.ok()) return transition.status();
    if (!transition->changes_state) return AckOutcome{transition->new_state, std::nullopt};
    const absl::Time now = clock_.Now();
    AckWrite write;
    write.delivery_id = delivery_id;
    write.expected_state = delivery->state;
    write.new_state = transition->new_state;
    write.ack.set_kind(kind);
    write.ack.set_note(note);
    write.ack.set_actor(actor);
    *write.ack.mutable_recorded_at() = ToProtoTime(now);
    // The note is the partner's free text: only its digest is audited.
    write.audit = {now, actor,
                   absl::StrCat("delivery.ack.", AckActionName(kind)),
                   delivery->referral_id, delivery_id,
                   note.empty() ? std::string() : Sha256(note),
                   absl::StrCat("from=", v1::DeliveryState_Name(delivery->state),
                                " to=", v1::DeliveryState_Name(transition->new_state))};
    if (!on_behalf_reason.empty()) {
      // Free text: only its digest is recorded.
      absl::StrAppend(&write.audit.detail, " on_behalf_of=", delivery->agency_id,
                      " reason_sha256=", HexEncode(Sha256(on_behalf_reason)));
    }
    write.stop_ladder = transition->new_state == v1::ACKNOWLEDGED;
    if (transition->new_state == v1::DECLINED && ladders_ != nullptr) {
      write.ladder = ladders_->TriggerNow(delivery->agency_kind, now, v1::DECLINED_BY_AGENCY);
    }
    auto index = store_.ApplyAck(write);
    if (index.ok()) return AckOutcome{transition->new_state, *index};
    if (!absl::IsAborted(index.status())) return index.status();
  }
  return absl::AbortedError("the delivery kept changing concurrently; retry the ack");
}

}  // namespace hart
