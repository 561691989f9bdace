#include "broker/reports/compliance_reports.h"

#include "absl/strings/str_cat.h"
#include "broker/common/field_violations.h"
#include "broker/common/status_macros.h"
#include "broker/common/time_util.h"
#include "broker/reports/ack_times.h"
#include "broker/reports/annual_counts.h"
#include "broker/reports/missing_from_care_report.h"

namespace hart::reports {
namespace {

constexpr uint32_t kDefaultSuppressionThreshold = 5;

std::string MonthText(const v1::ReportMonth& m) {
  return FormatMonth(absl::CivilMonth(static_cast<int64_t>(m.year()), static_cast<int>(m.month())));
}

}  // namespace

ReportOptions ReportOptionsFromConfig(const cfg::ReportOptions& config) {
  ReportOptions options;
  options.suppression_threshold = config.suppression_threshold() == 0
                                      ? kDefaultSuppressionThreshold
                                      : config.suppression_threshold();
  return options;
}

std::string DescribeReportRequest(const v1::GetComplianceReportRequest& request) {
  switch (request.report_case()) {
    case v1::GetComplianceReportRequest::kMissingFromCare:
      return absl::StrCat(
          "report=missing_from_care from=", MonthText(request.missing_from_care().first_month()),
          " to=", MonthText(request.missing_from_care().last_month()));
    case v1::GetComplianceReportRequest::kAnnualCounts:
      return absl::StrCat("report=annual_counts year=", request.annual_counts().year());
    case v1::GetComplianceReportRequest::kAckTimes:
      return absl::StrCat("report=ack_times from=", MonthText(request.ack_times().first_month()),
                          " to=", MonthText(request.ack_times().last_month()));
    default: return "report=none";
  }
}

absl::Status ComplianceReports::ForEachReferral(
    Period period, bool with_intake, const std::function<void(const ReportReferral&)>& add,
    const std::function<bool()>& cancelled) const {
  ReportPageQuery query{period.from, period.to, std::nullopt, options_.page_size, with_intake};
  for (;;) {
    if (cancelled && cancelled()) return absl::CancelledError("the caller gave up on the report");
    HART_ASSIGN_OR_RETURN(page, store_.ReadReportPage(query));
    for (const ReportReferral& referral : page) add(referral);
    if (page.size() < query.limit) return absl::OkStatus();
    query.after = std::make_pair(page.back().received_at, page.back().referral_id);
  }
}

absl::StatusOr<v1::ComplianceReport> ComplianceReports::Run(
    const v1::GetComplianceReportRequest& request, const std::function<bool()>& cancelled) const {
  HART_ASSIGN_OR_RETURN(zone, LoadReportTimeZone());
  const absl::Time now = clock_.Now();
  v1::ComplianceReport out;
  *out.mutable_generated_at() = ToProtoTime(now);
  out.set_time_zone(kReportTimeZone);
  switch (request.report_case()) {
    case v1::GetComplianceReportRequest::kMissingFromCare: {
      const v1::MissingFromCareRequest& r = request.missing_from_care();
      HART_ASSIGN_OR_RETURN(months,
                            ValidateMonths(r.first_month(), r.last_month(), r.has_first_month(),
                                           r.has_last_month(), "missingFromCare"));
      MissingFromCareReportBuilder builder(months.first, months.second, zone, now);
      HART_RETURN_IF_ERROR(ForEachReferral(
          MonthsPeriod(months.first, months.second, zone), /*with_intake=*/true,
          [&](const ReportReferral& referral) { builder.Add(referral); }, cancelled));
      *out.mutable_missing_from_care() = std::move(builder).Finish();
      return out;
    }
    case v1::GetComplianceReportRequest::kAnnualCounts: {
      HART_ASSIGN_OR_RETURN(year,
                            ValidateYear(request.annual_counts().year(), "annualCounts.year"));
      AnnualCountsBuilder builder(year, geography_, options_.suppression_threshold);
      HART_RETURN_IF_ERROR(ForEachReferral(
          YearPeriod(year, zone), /*with_intake=*/true,
          [&](const ReportReferral& referral) { builder.Add(referral); }, cancelled));
      *out.mutable_annual_counts() = std::move(builder).Finish();
      return out;
    }
    case v1::GetComplianceReportRequest::kAckTimes: {
      const v1::AckTimesRequest& r = request.ack_times();
      HART_ASSIGN_OR_RETURN(months,
                            ValidateMonths(r.first_month(), r.last_month(), r.has_first_month(),
                                           r.has_last_month(), "ackTimes"));
      AckTimesBuilder builder(now);
      // Deliveries only: no intake is opened.
      HART_RETURN_IF_ERROR(ForEachReferral(
          MonthsPeriod(months.first, months.second, zone), /*with_intake=*/false,
          [&](const ReportReferral& referral) { builder.Add(referral); }, cancelled));
      v1::AckTimesReport* report = out.mutable_ack_times();
      *report->mutable_first_month() = ToProtoMonth(months.first);
      *report->mutable_last_month() = ToProtoMonth(months.second);
      for (auto& kind : std::move(builder).Finish()) *report->add_kinds() = std::move(kind);
      return out;
    }
    default:
      return InvalidArgumentWithViolations(
          "no report was asked for",
          {{"report", "set one of missingFromCare, annualCounts or ackTimes"}});
  }
}

}  // namespace hart::reports
