// DeliveryContent over the store: loads the referral (decrypting its PII
// with the referral's data key) and builds the agency's view, adding the
// ack token and URL push partners acknowledge with. LoadAsync does that on
// the store executor.
//
// Thread safety: safe to call concurrently (the store is).
#pragma once

#include <string>

#include "broker/acks/ack_token.h"
#include "broker/delivery_content.h"
#include "broker/store.h"
#include "broker/store/store_executor.h"
#include "broker/views/view_builder.h"

namespace hart {

class StoredDeliveryContent final : public DeliveryContent {
 public:
  // `tokens` null: messages carry no ack token (no HTTPS ack endpoint).
  // Every reference must outlive the content, and `executor` must be
  // drained before it goes (a load may still be queued).
  StoredDeliveryContent(Store& store, StoreExecutor& executor, const ViewBuilder& views,
                        const AckTokens* tokens, std::string ack_url);

  absl::StatusOr<v1::ReferralDelivery> Load(const DeliveryRecord& delivery,
                                            bool notification_only) const override;
  void LoadAsync(const DeliveryRecord& delivery, bool notification_only,
                 Loaded done) const override;

 private:
  Store& store_;
  StoreExecutor& executor_;
  const ViewBuilder& views_;
  const AckTokens* tokens_;
  const std::string ack_url_;
};

}  // namespace hart
