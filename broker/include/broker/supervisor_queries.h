// What supervisors look at: referrals by filter, and one referral's
// deliveries with their acknowledgements. See store.h and store_errors.h.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/records.h"

namespace hart {

class SupervisorQueries {
 public:
  virtual ~SupervisorQueries() = default;

  // Referral summaries matching `query`, newest first. "Overdue" is
  // IsOverdue (broker/overdue.h), evaluated at query.overdue_at (or now).
  virtual absl::StatusOr<std::vector<ReferralSummaryRecord>> ListReferrals(
      const ReferralQuery& query) = 0;

  // A referral's deliveries, in creation order, each with its acks.
  virtual absl::StatusOr<std::vector<DeliveryWithAcks>> GetDeliveries(
      const std::string& referral_id) = 0;
};

}  // namespace hart
