// When a delivery is overdue — the one definition the broker uses (the
// supervisor API's `overdue` flag, metrics, and the stores' overdue filters,
// whose SQL the conformance suite holds to this predicate).
//
// A REFERRAL delivery, not redelivered, is overdue at `now` when it is not
// ACKNOWLEDGED (accepted) and either its ack deadline has passed, or its
// delivery deadline has passed without it being DELIVERED or DECLINED.
// Updates, escalations and erasure notices are never overdue.
#pragma once

#include "absl/time/time.h"
#include "broker/records.h"

namespace hart {

inline bool IsOverdue(const DeliveryRecord& d, absl::Time now) {
  if (d.kind != v1::REFERRAL || !d.redelivered_as.empty()) return false;
  if (d.state == v1::ACKNOWLEDGED) return false;
  if (d.ack_deadline <= now) return true;
  return d.delivery_deadline && *d.delivery_deadline <= now && d.state != v1::DELIVERED &&
         d.state != v1::DECLINED;
}

}  // namespace hart
