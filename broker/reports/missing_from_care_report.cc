#include "broker/reports/missing_from_care_report.h"

#include "broker/reports/federal_rule.h"
#include "broker/reports/report_period.h"

namespace hart::reports {

MissingFromCareReportBuilder::MissingFromCareReportBuilder(absl::CivilMonth first,
                                                           absl::CivilMonth last,
                                                           absl::TimeZone zone, absl::Time now)
    : first_(first), last_(last), zone_(zone), now_(now) {
  for (absl::CivilMonth m = first; m <= last; ++m) {
    *months_[m].mutable_month() = ToProtoMonth(m);
  }
}

void MissingFromCareReportBuilder::Add(const ReportReferral& referral) {
  auto month = months_.find(MonthOf(referral.received_at, zone_));
  if (month == months_.end()) return;  // outside the period
  if (referral.sealed_at) {
    ++sealed_;
    return;
  }
  if (!IsMissingFromCare(referral)) return;
  v1::MissingFromCareMonth& m = month->second;
  v1::MissingFromCareReferral* item = m.add_items();
  *item = ClassifyMissingFromCare(referral, now_);
  m.set_referrals(m.referrals() + 1);
  switch (item->outcome()) {
    case v1::FederalNotification::ON_TIME: m.set_on_time(m.on_time() + 1); break;
    case v1::FederalNotification::LATE: m.set_late(m.late() + 1); break;
    case v1::FederalNotification::NEVER_MADE: m.set_never_made(m.never_made() + 1); break;
    case v1::FederalNotification::NOT_YET_DUE: m.set_not_yet_due(m.not_yet_due() + 1); break;
    default: break;
  }
}

v1::MissingFromCareReport MissingFromCareReportBuilder::Finish() && {
  v1::MissingFromCareReport out;
  *out.mutable_first_month() = ToProtoMonth(first_);
  *out.mutable_last_month() = ToProtoMonth(last_);
  for (auto& [month, report] : months_) *out.add_months() = std::move(report);
  out.set_sealed_referrals_skipped(sealed_);
  return out;
}

}  // namespace hart::reports
