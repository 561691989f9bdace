// The message a partner receives for one delivery, whatever carries it (a
// feed event, a webhook body, a dropped file): the delivery's references,
// kind and notices, and the referral as the agency's field view.
#pragma once

#include "broker/records.h"
#include "broker/views/view_builder.h"
#include "hart/referral/v1/feed.pb.h"

namespace hart {

// `intake` null (sealed referral, or a notification-only channel) gives a
// view with references and deadlines and no intake field at all; `sealed`
// marks the view as sealed by court order.
v1::ReferralDelivery BuildDeliveryMessage(const ViewBuilder& views,
                                          const DeliveryRecord& delivery,
                                          const v1::Intake* intake, v1::Priority priority,
                                          bool sealed);

}  // namespace hart
