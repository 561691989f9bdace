#include "broker/acks/redelivery.h"

#include "absl/strings/str_cat.h"
#include "broker/common/sha256.h"

namespace hart {

absl::StatusOr<DeliveryRecord> Redeliverer::Redeliver(const std::string& delivery_id,
                                                      const std::string& to_agency_id,
                                                      const std::string& reason,
                                                      const std::string& actor) {
  if (reason.empty()) {
    return absl::InvalidArgumentError("a redelivery needs a reason (it is audited)");
  }
  auto old = store_.GetDelivery(delivery_id);
  if (!old.ok()) return old.status();
  if (old->state != v1::DEAD && old->state != v1::DECLINED) {
    return absl::FailedPreconditionError(absl::StrCat(
        "only DEAD or DECLINED deliveries can be redelivered; ", delivery_id, " is ",
        v1::DeliveryState_Name(old->state)));
  }
  if (!old->redelivered_as.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(delivery_id, " was already redelivered as ", old->redelivered_as));
  }
  if (old->kind == v1::ESCALATION) {
    return absl::FailedPreconditionError("escalation notices are not redelivered");
  }
  const std::string agency_id = to_agency_id.empty() ? old->agency_id : to_agency_id;
  const cfg::Agency* agency = geography_.FindAgency(agency_id);
  if (agency == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("no agency '", agency_id, "' in the config"));
  }
  const absl::Time now = clock_.Now();
  RedeliveryWrite write;
  write.old_delivery_id = delivery_id;
  write.expected_state = old->state;
  DeliveryRecord& d = write.new_delivery;
  d.delivery_id = ids_.NewDeliveryId();
  d.referral_id = old->referral_id;
  d.agency_id = agency->id();
  d.agency_kind = agency->kind();
  d.rule_ids = old->rule_ids;
  d.adapter_type = agency->adapter().type();
  d.state = v1::PENDING;
  d.created_at = now;
  d.next_attempt_at = AsapAttempt(now);
  d.ack_deadline = now + (old->ack_deadline - old->created_at);
  d.delivery_deadline = old->delivery_deadline;
  d.kind = old->kind;
  d.changes = old->changes;
  d.priority = old->priority;
  write.ladder = ladders_.FirstStep(d);
  write.audit.push_back({now, actor, "delivery.redelivered", d.referral_id, delivery_id,
                         Sha256(reason),
                         absl::StrCat("new=", d.delivery_id, " to=", d.agency_id, " was=",
                                      v1::DeliveryState_Name(old->state))});
  write.audit.push_back({now, actor, "delivery.created", d.referral_id, d.delivery_id, "",
                         absl::StrCat("agency=", d.agency_id, " kind=",
                                      v1::MessageKind_Name(d.kind), " redelivers=", delivery_id)});
  if (auto s = store_.ApplyRedelivery(write); !s.ok()) {
    if (absl::IsAborted(s)) {
      return absl::FailedPreconditionError(
          absl::StrCat(delivery_id, " changed meanwhile; look at it again before redelivering"));
    }
    return s;
  }
  return d;
}

}  // namespace hart
