#include "broker/views/delivery_message.h"

namespace hart {

v1::ReferralDelivery BuildDeliveryMessage(const ViewBuilder& views,
                                          const DeliveryRecord& delivery,
                                          const v1::Intake* intake, v1::Priority priority,
                                          bool sealed) {
  v1::ReferralDelivery message;
  message.set_delivery_id(delivery.delivery_id);
  message.set_referral_id(delivery.referral_id);
  message.set_kind(delivery.kind);
  if (delivery.escalation) *message.mutable_escalation() = *delivery.escalation;
  if (delivery.erasure) *message.mutable_erasure() = *delivery.erasure;
  for (const auto& change : delivery.changes) message.add_changes(change);
  if (intake == nullptr || sealed) {
    *message.mutable_referral() = views.BuildNotification(delivery, priority);
    message.mutable_referral()->set_sealed(sealed);
  } else {
    *message.mutable_referral() = views.Build(delivery, *intake, priority);
  }
  return message;
}

}  // namespace hart
