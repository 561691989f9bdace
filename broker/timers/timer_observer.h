// Told about each escalation step that ran (stored, with its event), for
// metrics. `escalated` is the delivery the ladder is about. Called on the
// timer runner's thread; must be quick.
#pragma once

#include <cstdint>

#include "broker/records.h"

namespace hart {

class TimerObserver {
 public:
  virtual ~TimerObserver() = default;
  virtual void OnEscalationStep(const DeliveryRecord& escalated, uint32_t step,
                                v1::EscalationReason reason) = 0;
};

}  // namespace hart
