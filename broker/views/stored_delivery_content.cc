#include "broker/views/stored_delivery_content.h"

#include "broker/views/delivery_message.h"

namespace hart {

StoredDeliveryContent::StoredDeliveryContent(Store& store, StoreExecutor& executor,
                                             const ViewBuilder& views, const AckTokens* tokens,
                                             std::string ack_url)
    : store_(store),
      executor_(executor),
      views_(views),
      tokens_(tokens),
      ack_url_(std::move(ack_url)) {}

void StoredDeliveryContent::LoadAsync(const DeliveryRecord& delivery, bool notification_only,
                                      Loaded done) const {
  executor_.Run([this, delivery, notification_only] { return Load(delivery, notification_only); },
                std::move(done));
}

absl::StatusOr<v1::ReferralDelivery> StoredDeliveryContent::Load(
    const DeliveryRecord& delivery, bool notification_only) const {
  auto referral = store_.GetReferral(delivery.referral_id);
  if (!referral.ok()) return referral.status();
  const bool sealed = referral->sealed_at.has_value();
  v1::ReferralDelivery message =
      BuildDeliveryMessage(views_, delivery, notification_only ? nullptr : &referral->intake,
                           referral->priority, sealed);
  if (tokens_ != nullptr) {
    message.set_ack_token(tokens_->TokenFor(delivery.delivery_id));
    message.set_ack_url(ack_url_);
  }
  return message;
}

}  // namespace hart
