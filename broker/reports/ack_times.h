// Responsiveness (SPEC §10): for the REFERRAL deliveries of the referrals
// in a period, by agency kind, the time from the delivery's creation (when
// the broker routed it; its ack deadline counts from then) to the agency's
// business acknowledgement (ACCEPTED, a supervisor's on behalf included):
// median and p90 of the accepted ones, and the share accepted by the
// deadline. Each delivery counts on its own: a redelivery is another
// delivery with its own deadline, and the one it replaces (DEAD or
// DECLINED) was not accepted. A delivery neither accepted nor past its
// deadline yet is still open and left out of the share. Deliveries stopped
// by sealing (never sent) are not counted.
#pragma once

#include <map>
#include <vector>

#include "absl/time/time.h"
#include "broker/report_records.h"
#include "hart/referral/v1/supervisor.pb.h"

namespace hart::reports {

namespace v1 = ::hart::referral::v1;

// The nearest-rank percentile `p` (0 < p <= 100) of `sorted` (ascending,
// not empty): the smallest value with at least p% of the values at or
// below it. The median is p = 50.
absl::Duration NearestRankPercentile(const std::vector<absl::Duration>& sorted, double p);

class AckTimesBuilder {
 public:
  // Open or overdue as of `now`.
  explicit AckTimesBuilder(absl::Time now) : now_(now) {}

  void Add(const ReportReferral& referral);

  // One row per agency kind with a delivery, in AgencyKind order.
  std::vector<v1::AckTimesByKind> Finish() &&;

 private:
  struct KindTally {
    v1::AckTimesByKind counts;
    std::vector<absl::Duration> accepted_after;
  };
  const absl::Time now_;
  std::map<int, KindTally> by_kind_;
};

}  // namespace hart::reports
