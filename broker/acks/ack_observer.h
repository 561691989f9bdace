// Told about every acknowledgement that changed a delivery's state, once it
// is durable, for metrics (e.g. how long partners take to acknowledge).
// `delivery` is the delivery as it was before the ack: its ids, agency,
// kind, creation time and state (other fields may be unset). Called on the
// writer queue's answering thread; must be quick.
#pragma once

#include "absl/time/time.h"
#include "broker/records.h"

namespace hart {

class AckObserver {
 public:
  virtual ~AckObserver() = default;
  virtual void OnAcknowledged(const DeliveryRecord& delivery, v1::Acknowledgement::Kind kind,
                              absl::Time at) = 0;
};

}  // namespace hart
