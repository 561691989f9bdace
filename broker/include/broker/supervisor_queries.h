// What supervisors look at: referrals by filter, one referral's deliveries
// with their acknowledgements, and the referrals a compliance report counts.
// See store.h and store_errors.h.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/records.h"
#include "broker/report_records.h"

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

  // One page of the referrals received in a period, oldest first, each
  // with its intake (unless sealed or not asked for) and every delivery.
  // Reads one page at a time through an index on received_at, so a year of
  // a large store is never loaded at once: call again with `after` set to
  // the last (received_at, referral_id) until a page is shorter than
  // `limit`. INVALID_ARGUMENT if `limit` is 0.
  virtual absl::StatusOr<std::vector<ReportReferral>> ReadReportPage(
      const ReportPageQuery& query) = 0;
};

}  // namespace hart
