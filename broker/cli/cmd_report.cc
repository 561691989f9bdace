// hartctl report: the compliance reports (SupervisorService.GetComplianceReport).
//   report missing-from-care [FIRST_MONTH [LAST_MONTH]]   default: this month
//   report annual YEAR
//   report ack-times [FIRST_MONTH [LAST_MONTH]]           default: this month
// Months are YYYY-MM in America/New_York, as the broker counts them.
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "broker/cli/cli_commands.h"
#include "broker/cli/cli_connection.h"
#include "broker/cli/cli_output.h"
#include "broker/cli/cli_report_format.h"
#include "broker/reports/report_period.h"
#include "hart/referral/v1/supervisor.grpc.pb.h"

ABSL_FLAG(bool, csv, false, "report: print CSV (a header row, then one row per item).");

namespace hart::cli {
namespace v1 = hart::referral::v1;
namespace {

constexpr char kReportUsage[] =
    "usage: hartctl report missing-from-care|ack-times [FIRST_MONTH [LAST_MONTH]] "
    "(YYYY-MM, default this month) | hartctl report annual YEAR";

// This month where the broker counts months (UTC if the zone is missing
// here: the broker checks the range either way).
v1::ReportMonth ThisMonth() {
  absl::TimeZone zone = absl::UTCTimeZone();
  absl::LoadTimeZone("America/New_York", &zone);
  const absl::CivilMonth month(absl::ToCivilSecond(absl::Now(), zone));
  v1::ReportMonth out;
  out.set_year(static_cast<uint32_t>(month.year()));
  out.set_month(static_cast<uint32_t>(month.month()));
  return out;
}

// FIRST_MONTH [LAST_MONTH] (args[1], args[2]) into `first` and `last`.
absl::Status ParseMonths(const std::vector<std::string>& args, v1::ReportMonth* first,
                         v1::ReportMonth* last) {
  if (args.size() > 3) return absl::InvalidArgumentError(kReportUsage);
  if (args.size() == 1) {
    *first = *last = ThisMonth();
    return absl::OkStatus();
  }
  auto from = reports::ParseReportMonth(args[1]);
  if (!from.ok()) return from.status();
  auto to = args.size() == 3 ? reports::ParseReportMonth(args[2]) : from;
  if (!to.ok()) return to.status();
  *first = *from;
  *last = *to;
  return absl::OkStatus();
}

absl::StatusOr<v1::GetComplianceReportRequest> BuildRequest(const std::vector<std::string>& args) {
  v1::GetComplianceReportRequest request;
  if (args.empty()) return absl::InvalidArgumentError(kReportUsage);
  const std::string& which = args[0];
  if (which == "missing-from-care") {
    auto* r = request.mutable_missing_from_care();
    if (auto s = ParseMonths(args, r->mutable_first_month(), r->mutable_last_month()); !s.ok()) {
      return s;
    }
  } else if (which == "ack-times") {
    auto* r = request.mutable_ack_times();
    if (auto s = ParseMonths(args, r->mutable_first_month(), r->mutable_last_month()); !s.ok()) {
      return s;
    }
  } else if (which == "annual") {
    uint32_t year = 0;
    if (args.size() != 2 || !absl::SimpleAtoi(args[1], &year)) {
      return absl::InvalidArgumentError("usage: hartctl report annual YEAR (e.g. 2026)");
    }
    request.mutable_annual_counts()->set_year(year);
  } else {
    return absl::InvalidArgumentError("unknown report '" + which + "'; " + kReportUsage);
  }
  return request;
}

}  // namespace

int RunReport(const std::vector<std::string>& args) {
  const bool csv = absl::GetFlag(FLAGS_csv);
  if (csv && JsonMode()) return ReportLocalError("--csv and --json: choose one");
  auto request = BuildRequest(args);
  if (!request.ok()) return ReportLocalError(request.status());
  auto channel = OpenChannel(IdentityOr("supervisor"));
  if (!channel.ok()) return ReportLocalError(channel.status());
  auto stub = v1::SupervisorService::NewStub(*channel);
  v1::ComplianceReport report;
  grpc::ClientContext context;
  SetDeadline(context);
  const grpc::Status status = stub->GetComplianceReport(&context, *request, &report);
  if (!status.ok()) return ReportRpcError(status);
  if (JsonMode()) {
    PrintJson(report);
  } else if (csv) {
    PrintReportCsv(report, std::cout);
  } else {
    PrintReportText(report, std::cout);
  }
  return kExitOk;
}

}  // namespace hart::cli
