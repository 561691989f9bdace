// What an acknowledgement to a delivery state stamps on the delivery, the
// same in every backend: delivered_at (set once) and, for a partner's
// business answer, acknowledged_at.
#pragma once

#include "broker/records.h"

namespace hart {

inline bool AckMarksDelivered(v1::DeliveryState new_state) {
  return new_state == v1::DELIVERED || new_state == v1::ACKNOWLEDGED ||
         new_state == v1::DECLINED;
}
inline bool AckIsBusinessAnswer(v1::DeliveryState new_state) {
  return new_state == v1::ACKNOWLEDGED || new_state == v1::DECLINED;
}

}  // namespace hart
