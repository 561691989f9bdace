// `hartctl report --csv`: one header row, then one row per referral
// (missing-from-care), per published count (annual) or per agency kind
// (ack-times). Times are RFC 3339 UTC; durations whole seconds.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/cli/cli_report_format.h"
#include "broker/cli/cli_report_values.h"
#include "broker/common/time_util.h"

namespace hart::cli {
namespace v1 = hart::referral::v1;
namespace {

// RFC 4180: quoted when it holds a comma, quote or line break.
std::string Field(const std::string& value) {
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

void Row(std::ostream& out, const std::vector<std::string>& fields) {
  std::vector<std::string> quoted;
  for (const auto& f : fields) quoted.push_back(Field(f));
  out << absl::StrJoin(quoted, ",") << "\n";
}

std::string Time(const google::protobuf::Timestamp& t, bool is_set) {
  return is_set ? FormatRfc3339(FromProtoTime(t)) : "";
}

std::string Seconds(const google::protobuf::Duration& d, bool is_set) {
  return is_set ? absl::StrCat(d.seconds()) : "";
}

void MissingFromCareCsv(const v1::MissingFromCareReport& r, std::ostream& out) {
  Row(out, {"month", "referral_id", "received_at", "deadline", "outcome", "late_by_seconds",
            "ncmec_outcome", "ncmec_made_at", "ncmec_late_by_seconds", "ncmec_delivery_id",
            "law_enforcement_outcome", "law_enforcement_made_at", "law_enforcement_late_by_seconds",
            "law_enforcement_delivery_id"});
  for (const v1::MissingFromCareMonth& m : r.months()) {
    for (const v1::MissingFromCareReferral& item : m.items()) {
      const v1::FederalNotification& n = item.ncmec();
      const v1::FederalNotification& p = item.law_enforcement();
      Row(out, {MonthText(m.month()), item.referral_id(), Time(item.received_at(), true),
                Time(item.deadline(), true), OutcomeText(item.outcome()),
                Seconds(item.late_by(), item.has_late_by()), OutcomeText(n.outcome()),
                Time(n.made_at(), n.has_made_at()), Seconds(n.late_by(), n.has_late_by()),
                n.delivery_id(), OutcomeText(p.outcome()), Time(p.made_at(), p.has_made_at()),
                Seconds(p.late_by(), p.has_late_by()), p.delivery_id()});
    }
  }
}

void AnnualCountsCsv(const v1::AnnualCountsReport& r, std::ostream& out) {
  const uint32_t t = r.suppression_threshold();
  Row(out, {"dimension", "key", "group", "count"});
  auto rows = [&](const std::string& dimension,
                  const google::protobuf::RepeatedPtrField<v1::ReportCount>& counts) {
    for (const v1::ReportCount& c : counts)
      Row(out, {dimension, c.key(), c.group(), CountText(c, t)});
  };
  Row(out, {"total", r.total().key(), "", CountText(r.total(), t)});
  rows("trafficking_type", r.by_trafficking_type());
  rows("region", r.by_region());
  rows("town", r.by_town());
  rows("agency_kind", r.by_agency_kind());
  rows("age_band", r.by_age_band());
  rows("gender", r.by_gender());
  Row(out, {"sealed_skipped", r.sealed_referrals_skipped().key(), "",
            CountText(r.sealed_referrals_skipped(), t)});
}

void AckTimesCsv(const v1::AckTimesReport& r, std::ostream& out) {
  Row(out, {"agency_kind", "deliveries", "accepted", "accepted_within_deadline", "still_open",
            "median_seconds", "p90_seconds", "share_within_deadline"});
  for (const v1::AckTimesByKind& k : r.kinds()) {
    Row(out, {v1::AgencyKind_Name(k.agency_kind()), absl::StrCat(k.deliveries()),
              absl::StrCat(k.accepted()), absl::StrCat(k.accepted_within_deadline()),
              absl::StrCat(k.still_open()), Seconds(k.median(), k.has_median()),
              Seconds(k.p90(), k.has_p90()),
              k.has_share_within_deadline() ? absl::StrCat(k.share_within_deadline()) : ""});
  }
}

}  // namespace

void PrintReportCsv(const v1::ComplianceReport& report, std::ostream& out) {
  switch (report.report_case()) {
    case v1::ComplianceReport::kMissingFromCare:
      MissingFromCareCsv(report.missing_from_care(), out);
      break;
    case v1::ComplianceReport::kAnnualCounts: AnnualCountsCsv(report.annual_counts(), out); break;
    case v1::ComplianceReport::kAckTimes: AckTimesCsv(report.ack_times(), out); break;
    default: break;
  }
}

}  // namespace hart::cli
