// The compliance reports of SPEC §10, computed from the store: the federal
// 24-hour rule (federal_rule.h, missing_from_care_report.h), annual counts
// with small counts suppressed (annual_counts.h) and time to business
// acknowledgement (ack_times.h). The period's referrals are read one page at
// a time (SupervisorQueries::ReadReportPage) and folded into the report as
// they come, so a year of a large store is never loaded at once.
//
// Thread safety: Run may be called concurrently. It blocks on the store:
// call it on the store executor, never on a gRPC thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "broker/clock.h"
#include "broker/reports/report_period.h"
#include "broker/routing/geography.h"
#include "broker/supervisor_queries.h"
#include "hart/config/v1/broker_config.pb.h"
#include "hart/referral/v1/supervisor.pb.h"

namespace hart::reports {

struct ReportOptions {
  // Annual counts under this are suppressed; 1 suppresses nothing. Default: 5.
  uint32_t suppression_threshold = 5;
  // Referrals read per store call. Default: 500.
  size_t page_size = 500;
};

// The config's `reports` section, defaults applied.
ReportOptions ReportOptionsFromConfig(const cfg::ReportOptions& config);

// What was asked, for the audit entry: e.g. "report=missing_from_care
// from=2026-01 to=2026-03". No PII (there is none in a request).
std::string DescribeReportRequest(const v1::GetComplianceReportRequest& request);

class ComplianceReports {
 public:
  // Every reference must outlive this object.
  ComplianceReports(SupervisorQueries& store, const Geography& geography, const Clock& clock,
                    ReportOptions options)
      : store_(store), geography_(geography), clock_(clock), options_(options) {}

  // The report `request` asks for, as of the clock's now. INVALID_ARGUMENT
  // (with field violations) for a missing report or a bad period;
  // FAILED_PRECONDITION if the time zone is not installed; CANCELLED when
  // `cancelled` (polled between pages) says the caller gave up; store
  // errors as they come.
  absl::StatusOr<v1::ComplianceReport> Run(const v1::GetComplianceReportRequest& request,
                                           const std::function<bool()>& cancelled = {}) const;

 private:
  // Calls `add` with every referral received in `period`, oldest first.
  absl::Status ForEachReferral(Period period, bool with_intake,
                               const std::function<void(const ReportReferral&)>& add,
                               const std::function<bool()>& cancelled) const;

  SupervisorQueries& store_;
  const Geography& geography_;
  const Clock& clock_;
  const ReportOptions options_;
};

}  // namespace hart::reports
