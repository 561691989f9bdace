// `hartctl report` as text: a heading per report and a table per section.
#include <iomanip>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "broker/cli/cli_output.h"
#include "broker/cli/cli_report_format.h"
#include "broker/cli/cli_report_values.h"
#include "broker/cli/cli_table.h"
#include "broker/common/time_util.h"

namespace hart::cli {
namespace v1 = hart::referral::v1;
namespace {

std::string DurationText(const google::protobuf::Duration& duration, bool is_set) {
  if (!is_set) return "-";
  const absl::Duration d = FromProtoDuration(duration);
  return d < absl::Minutes(1) ? "<1 m" : HumanDuration(d);
}

// "1 referral", "3 referrals".
std::string Referrals(uint32_t n) { return absl::StrCat(n, n == 1 ? " referral" : " referrals"); }

// "in 2026-11", "from 2026-09 to 2026-11".
std::string Months(const v1::ReportMonth& first, const v1::ReportMonth& last) {
  if (MonthText(first) == MonthText(last)) return "in " + MonthText(first);
  return "from " + MonthText(first) + " to " + MonthText(last);
}

void PrintMissingFromCare(const v1::ComplianceReport& report, std::ostream& out) {
  const v1::MissingFromCareReport& r = report.missing_from_care();
  out << "Federal 24-hour rule: missing-from-care referrals received "
      << Months(r.first_month(), r.last_month()) << " (" << report.time_zone() << "), as of "
      << FormatTime(report.generated_at(), true) << "\n"
      << "NCMEC and law enforcement must be told within 24 h of receivedAt.\n";
  for (const v1::MissingFromCareMonth& m : r.months()) {
    out << "\n"
        << MonthText(m.month()) << ": " << Referrals(m.referrals()) << ": " << m.on_time()
        << " on time, " << m.late() << " late, " << m.never_made() << " never made, "
        << m.not_yet_due() << " not yet due\n";
    if (m.items().empty()) continue;
    Table table({"REFERRAL", "RECEIVED", "OUTCOME", "LATE BY", "NCMEC", "NCMEC MADE", "POLICE",
                 "POLICE MADE"});
    for (const v1::MissingFromCareReferral& item : m.items()) {
      table.AddRow(
          {item.referral_id(), FormatTime(item.received_at(), true), OutcomeText(item.outcome()),
           DurationText(item.late_by(), item.has_late_by()), OutcomeText(item.ncmec().outcome()),
           FormatTime(item.ncmec().made_at(), item.ncmec().has_made_at()),
           OutcomeText(item.law_enforcement().outcome()),
           FormatTime(item.law_enforcement().made_at(), item.law_enforcement().has_made_at())});
    }
    table.Print(out, "  ");
  }
  if (r.sealed_referrals_skipped() > 0) {
    out << "\n"
        << Referrals(r.sealed_referrals_skipped())
        << " skipped: sealed by court order, their facts are gone\n";
  }
}

void PrintCounts(const std::string& title, const std::string& group_title,
                 const google::protobuf::RepeatedPtrField<v1::ReportCount>& counts,
                 uint32_t threshold, std::ostream& out) {
  out << "\n";
  Table table =
      group_title.empty() ? Table({title, "COUNT"}) : Table({title, group_title, "COUNT"});
  for (const v1::ReportCount& c : counts) {
    if (group_title.empty()) {
      table.AddRow({c.key(), CountText(c, threshold)});
    } else {
      table.AddRow({c.key(), c.group(), CountText(c, threshold)});
    }
  }
  table.Print(out);
}

void PrintAnnualCounts(const v1::ComplianceReport& report, std::ostream& out) {
  const v1::AnnualCountsReport& r = report.annual_counts();
  const uint32_t t = r.suppression_threshold();
  out << "Trafficking referrals received in " << r.year() << " (" << report.time_zone()
      << "), as of " << FormatTime(report.generated_at(), true) << "\n"
      << "Counts under " << t << " show as \"<" << t << "\"; \"*\" is suppressed so that a \"<" << t
      << "\" cannot be worked out from a total.\n\n"
      << "Total: " << CountText(r.total(), t) << "\n";
  PrintCounts("TRAFFICKING TYPE", "", r.by_trafficking_type(), t, out);
  PrintCounts("REGION", "", r.by_region(), t, out);
  PrintCounts("TOWN", "REGION", r.by_town(), t, out);
  PrintCounts("AGENCY KIND NOTIFIED", "", r.by_agency_kind(), t, out);
  PrintCounts("AGE BAND", "", r.by_age_band(), t, out);
  PrintCounts("GENDER", "", r.by_gender(), t, out);
  out << "\nSealed referrals skipped (facts gone): " << CountText(r.sealed_referrals_skipped(), t)
      << "\n";
}

void PrintAckTimes(const v1::ComplianceReport& report, std::ostream& out) {
  const v1::AckTimesReport& r = report.ack_times();
  out << "Time to business acknowledgement (ACCEPTED) of REFERRAL deliveries, referrals received "
      << Months(r.first_month(), r.last_month()) << " (" << report.time_zone() << "), as of "
      << FormatTime(report.generated_at(), true) << "\n\n";
  Table table({"AGENCY KIND", "DELIVERIES", "ACCEPTED", "IN TIME", "STILL OPEN", "MEDIAN", "P90",
               "SHARE IN TIME"});
  for (const v1::AckTimesByKind& k : r.kinds()) {
    std::string share = "-";
    if (k.has_share_within_deadline()) {
      std::ostringstream percent;
      percent << std::fixed << std::setprecision(1) << k.share_within_deadline() * 100 << "%";
      share = percent.str();
    }
    table.AddRow({v1::AgencyKind_Name(k.agency_kind()), absl::StrCat(k.deliveries()),
                  absl::StrCat(k.accepted()), absl::StrCat(k.accepted_within_deadline()),
                  absl::StrCat(k.still_open()), DurationText(k.median(), k.has_median()),
                  DurationText(k.p90(), k.has_p90()), share});
  }
  table.Print(out);
}

}  // namespace

void PrintReportText(const v1::ComplianceReport& report, std::ostream& out) {
  switch (report.report_case()) {
    case v1::ComplianceReport::kMissingFromCare: PrintMissingFromCare(report, out); break;
    case v1::ComplianceReport::kAnnualCounts: PrintAnnualCounts(report, out); break;
    case v1::ComplianceReport::kAckTimes: PrintAckTimes(report, out); break;
    default: out << "(empty report)\n"; break;
  }
}

}  // namespace hart::cli
