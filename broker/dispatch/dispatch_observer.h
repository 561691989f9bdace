// Told how each delivery attempt the dispatcher made ended, once recorded,
// for metrics. Called on whichever thread the adapter answered on; must be
// quick.
#pragma once

#include "absl/time/time.h"
#include "broker/records.h"

namespace hart {

enum class AttemptResult {
  kHandedOff,  // the adapter took it and reports delivery itself (a feed)
  kDelivered,  // the partner's system has it (a transport acknowledgement)
  kRetry,      // failed; tried again later
  kDeferred,   // not tried (circuit open, queue full); tried again later
  kDead,       // the budget ran out: a dead letter
};

class DispatchObserver {
 public:
  virtual ~DispatchObserver() = default;
  // `delivery` is the claimed delivery; `at` when the answer was recorded.
  virtual void OnAttempt(const DeliveryRecord& delivery, AttemptResult result,
                         absl::Time at) = 0;
};

}  // namespace hart
