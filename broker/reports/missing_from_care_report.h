// The federal 24-hour rule report (federal_rule.h), month by month:
// referrals are added one at a time as the store's pages arrive, so a period
// is never held in memory beyond the missing-from-care rows it lists.
#pragma once

#include <map>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "broker/report_records.h"
#include "hart/referral/v1/supervisor.pb.h"

namespace hart::reports {

namespace v1 = ::hart::referral::v1;

class MissingFromCareReportBuilder {
 public:
  // Months `first`..`last` in `zone`; outcomes as of `now`.
  MissingFromCareReportBuilder(absl::CivilMonth first, absl::CivilMonth last, absl::TimeZone zone,
                               absl::Time now);

  // Counts `referral` in its month if it is missing from care (sealed ones
  // only as skipped). Referrals must come oldest first.
  void Add(const ReportReferral& referral);

  v1::MissingFromCareReport Finish() &&;

 private:
  const absl::CivilMonth first_;
  const absl::CivilMonth last_;
  const absl::TimeZone zone_;
  const absl::Time now_;
  std::map<absl::CivilMonth, v1::MissingFromCareMonth> months_;
  uint32_t sealed_ = 0;
};

}  // namespace hart::reports
