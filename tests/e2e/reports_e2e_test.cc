// Compliance reports through the real binary: referrals submitted, some
// notifications made (a feed partner's RECEIVED, a supervisor's ack on
// behalf), then `hartctl report ... --json` and `--csv` give the figures:
// the federal 24-hour rule, annual counts with small counts suppressed, and
// time to ACCEPTED. An agency's identity is refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "broker/common/time_util.h"
#include "google/protobuf/util/json_util.h"
#include "hart/referral/v1/audit.grpc.pb.h"
#include "tests/e2e/broker_process.h"

namespace hart::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

absl::TimeZone NewYork() {
  absl::TimeZone zone;
  EXPECT_TRUE(absl::LoadTimeZone("America/New_York", &zone));
  return zone;
}

std::string MonthOf(absl::Time t) {
  const absl::CivilMonth m(absl::ToCivilSecond(t, NewYork()));
  return absl::StrCat(m.year(), m.month() < 10 ? "-0" : "-", m.month());
}

// The Connecticut config with small counts suppressed under 2 (not 5), so
// that a handful of referrals shows both published and suppressed counts.
std::string ConfigWithThresholdTwo(const std::string& dir) {
  const std::string path = dir + "/reports.yaml";
  std::ofstream(path) << ReadText(SourcePath("deploy/config/connecticut.yaml"))
                      << "\nreports:\n  suppression_threshold: 2\n";
  return path;
}

class ReportsE2ETest : public ::testing::Test {
 protected:
  ReportsE2ETest() : broker_(dir_.path() + "/data", ConfigWithThresholdTwo(dir_.path())) {}

  // Submits `intake` as if the Careline received it at `received`.
  v1::Receipt Submit(v1::Intake intake, const std::string& report_id, absl::Time received) {
    intake.set_careline_report_id(report_id);
    *intake.mutable_received_at() = ToProtoTime(received);
    if (intake.missing().is_missing()) {
      *intake.mutable_missing()->mutable_missing_since() = ToProtoTime(received - absl::Hours(2));
    }
    v1::SubmitIntakeRequest request;
    *request.mutable_intake() = intake;
    v1::SubmitIntakeResponse response;
    const grpc::Status status =
        broker_.Intake()->SubmitIntake(CallContext().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.receipt();
  }

  // A DCF child missing from foster care in `town`, with no trafficking
  // type (so that only the annual referrals below are trafficking ones).
  static v1::Intake MissingChild(const std::string& town) {
    v1::Intake intake = LoadIntake("missing-from-foster-care-new-haven");
    intake.mutable_child()->set_town(town);
    intake.mutable_concern()->clear_trafficking_type();
    return intake;
  }

  static std::string DeliveryTo(const v1::Receipt& receipt, const std::string& agency_id) {
    for (const auto& d : receipt.destinations()) {
      if (d.agency_id() == agency_id) return d.delivery_id();
    }
    ADD_FAILURE() << receipt.referral_id() << " has no delivery to " << agency_id;
    return "";
  }

  // NCMEC confirmed by phone that it has the report: the supervisor records it.
  void NcmecConfirmedByPhone(const v1::Receipt& receipt) {
    v1::AcknowledgeOnBehalfRequest request;
    request.set_delivery_id(DeliveryTo(receipt, "ncmec"));
    request.set_kind(v1::Acknowledgement::RECEIVED);
    request.set_reason("NCMEC duty desk confirmed the report by phone");
    v1::AcknowledgeOnBehalfResponse response;
    const grpc::Status status =
        broker_.Supervisor()->AcknowledgeOnBehalf(CallContext().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }

  CommandOutput Hartctl(const std::string& args) {
    return RunHartctl("--target 127.0.0.1:" + std::to_string(broker_.port()) + " " + args);
  }

  v1::ComplianceReport JsonReport(const std::string& args) {
    const CommandOutput out = Hartctl("--json report " + args);
    EXPECT_EQ(out.exit_code, 0) << out.text;
    v1::ComplianceReport report;
    const auto parsed = google::protobuf::util::JsonStringToMessage(out.text, &report);
    EXPECT_TRUE(parsed.ok()) << parsed.ToString() << "\n" << out.text;
    return report;
  }

  TempDir dir_;
  BrokerProcess broker_;
};

TEST_F(ReportsE2ETest, HartctlReportsGiveTheFiguresAsJsonAndCsv) {
  ASSERT_TRUE(broker_.running());
  ASSERT_TRUE(IsFeedAgency("new-haven-pd"));
  ASSERT_FALSE(IsFeedAgency("stamford-pd"));  // a webhook at a placeholder: never reached
  const absl::Time now = absl::Now();
  // New Haven's police take the feed; NCMEC's interface is a placeholder
  // nobody answers, so NCMEC is "made" only when a supervisor records it.
  const v1::Receipt late = Submit(MissingChild("New Haven"), "CL-RPT-LATE", now - absl::Hours(30));
  const v1::Receipt on_time =
      Submit(MissingChild("New Haven"), "CL-RPT-ONTIME", now - absl::Hours(1));
  const v1::Receipt never = Submit(MissingChild("Stamford"), "CL-RPT-NEVER", now - absl::Hours(30));
  const v1::Receipt due = Submit(MissingChild("Stamford"), "CL-RPT-DUE", now - absl::Hours(1));
  DrainFeed(broker_, "new-haven-pd",
            {DeliveryTo(late, "new-haven-pd"), DeliveryTo(on_time, "new-haven-pd")});
  NcmecConfirmedByPhone(late);
  NcmecConfirmedByPhone(on_time);

  // Trafficking referrals for the annual counts: two girls in Hartford
  // (sex), one boy in Waterbury (labor), received together.
  const absl::Time trafficking_at = now - absl::Minutes(5);
  for (const char* id : {"CL-RPT-HFD-1", "CL-RPT-HFD-2"}) {
    v1::Intake girl = LoadIntake("school-sex-trafficking-hartford");
    girl.mutable_child()->clear_date_of_birth();
    girl.mutable_child()->set_age_years(15);
    Submit(girl, id, trafficking_at);
  }
  Submit(LoadIntake("labor-trafficking-waterbury"), "CL-RPT-WTB", trafficking_at);

  // --- The federal 24-hour rule, as JSON ---
  const std::string months = MonthOf(now - absl::Hours(30)) + " " + MonthOf(now);
  const v1::ComplianceReport rule = JsonReport("missing-from-care " + months);
  ASSERT_TRUE(rule.has_missing_from_care());
  EXPECT_EQ(rule.time_zone(), "America/New_York");
  std::map<std::string, v1::MissingFromCareReferral> by_id;
  uint32_t on_time_count = 0, late_count = 0, never_count = 0, due_count = 0;
  for (const auto& month : rule.missing_from_care().months()) {
    on_time_count += month.on_time();
    late_count += month.late();
    never_count += month.never_made();
    due_count += month.not_yet_due();
    for (const auto& item : month.items()) by_id[item.referral_id()] = item;
  }
  EXPECT_EQ(by_id.size(), 4u);
  EXPECT_EQ(on_time_count, 1u);
  EXPECT_EQ(late_count, 1u);
  EXPECT_EQ(never_count, 1u);
  EXPECT_EQ(due_count, 1u);
  EXPECT_EQ(by_id[on_time.referral_id()].outcome(), v1::FederalNotification::ON_TIME);
  const v1::MissingFromCareReferral& late_item = by_id[late.referral_id()];
  EXPECT_EQ(late_item.outcome(), v1::FederalNotification::LATE);
  // Received 30 h ago, made now: 6 h past the deadline (and the test's minutes).
  const absl::Duration late_by = FromProtoDuration(late_item.late_by());
  EXPECT_GE(late_by, absl::Hours(6));
  EXPECT_LT(late_by, absl::Hours(6) + absl::Minutes(10));
  EXPECT_EQ(late_item.law_enforcement().outcome(), v1::FederalNotification::LATE);
  EXPECT_EQ(late_item.law_enforcement().delivery_id(), DeliveryTo(late, "new-haven-pd"));
  EXPECT_EQ(late_item.ncmec().outcome(), v1::FederalNotification::LATE);
  EXPECT_EQ(by_id[never.referral_id()].outcome(), v1::FederalNotification::NEVER_MADE);
  EXPECT_EQ(by_id[never.referral_id()].law_enforcement().agency_id(), "stamford-pd");
  EXPECT_EQ(by_id[due.referral_id()].outcome(), v1::FederalNotification::NOT_YET_DUE);

  // --- The same as CSV: one row per referral ---
  const CommandOutput csv = Hartctl("report missing-from-care " + months + " --csv");
  ASSERT_EQ(csv.exit_code, 0) << csv.text;
  std::vector<std::string> lines = absl::StrSplit(csv.text, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 5u) << csv.text;
  EXPECT_THAT(lines[0],
              HasSubstr("month,referral_id,received_at,deadline,outcome,late_by_seconds"));
  std::map<std::string, std::vector<std::string>> rows;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> fields = absl::StrSplit(lines[i], ',');
    ASSERT_EQ(fields.size(), 14u) << lines[i];
    rows[fields[1]] = fields;
  }
  EXPECT_EQ(rows[late.referral_id()][4], "LATE");
  EXPECT_EQ(rows[late.referral_id()][5], absl::StrCat(late_item.late_by().seconds()));
  EXPECT_EQ(rows[on_time.referral_id()][4], "ON_TIME");
  EXPECT_EQ(rows[never.referral_id()][4], "NEVER_MADE");
  EXPECT_EQ(rows[never.referral_id()][6], "NEVER_MADE");  // NCMEC
  EXPECT_EQ(rows[due.referral_id()][4], "NOT_YET_DUE");

  // --- Annual counts: 2 sex (published), 1 labor (under 2: suppressed,
  // and the 2 with it, or 3 - 2 would give it away) ---
  const std::string year = std::to_string(absl::ToCivilYear(trafficking_at, NewYork()).year());
  const CommandOutput annual_json = Hartctl("--json report annual " + year);
  ASSERT_EQ(annual_json.exit_code, 0) << annual_json.text;
  EXPECT_THAT(annual_json.text, Not(HasSubstr("CL-RPT")));  // no Careline report id
  const v1::ComplianceReport annual = JsonReport("annual " + year);
  ASSERT_TRUE(annual.has_annual_counts());
  const v1::AnnualCountsReport& counts = annual.annual_counts();
  EXPECT_EQ(counts.suppression_threshold(), 2u);
  EXPECT_EQ(counts.total().count(), 3u);
  std::map<std::string, v1::ReportCount> types;
  for (const auto& c : counts.by_trafficking_type()) types[c.key()] = c;
  EXPECT_EQ(types["LABOR"].suppression(), v1::ReportCount::BELOW_THRESHOLD);
  EXPECT_FALSE(types["LABOR"].has_count());
  EXPECT_EQ(types["SEX"].suppression(), v1::ReportCount::COMPLEMENTARY);
  EXPECT_FALSE(types["SEX"].has_count());
  EXPECT_EQ(types["UNDETERMINED"].count(), 0u);
  std::map<std::string, v1::ReportCount> ages;
  for (const auto& c : counts.by_age_band()) ages[c.key()] = c;
  EXPECT_EQ(ages["15-17"].suppression(), v1::ReportCount::NOT_SUPPRESSED);
  EXPECT_EQ(ages["15-17"].count(), 3u);  // 15, 15 and the Waterbury boy's 16

  const CommandOutput annual_csv = Hartctl("report annual " + year + " --csv");
  ASSERT_EQ(annual_csv.exit_code, 0) << annual_csv.text;
  EXPECT_THAT(annual_csv.text, HasSubstr("dimension,key,group,count\n"));
  EXPECT_THAT(annual_csv.text, HasSubstr("total,total,,3\n"));
  EXPECT_THAT(annual_csv.text, HasSubstr("trafficking_type,LABOR,,<2\n"));
  EXPECT_THAT(annual_csv.text, HasSubstr("trafficking_type,SEX,,*\n"));
  EXPECT_THAT(annual_csv.text, HasSubstr("town,Waterbury,5,<2\n"));

  // --- Time to ACCEPTED: New Haven's police accepted both of theirs; the
  // other police deliveries are still within their deadlines ---
  const v1::ComplianceReport acks = JsonReport("ack-times " + months);
  ASSERT_TRUE(acks.has_ack_times());
  const v1::AckTimesByKind* police = nullptr;
  for (const auto& k : acks.ack_times().kinds()) {
    if (k.agency_kind() == v1::LOCAL_LAW_ENFORCEMENT) police = &k;
  }
  ASSERT_NE(police, nullptr);
  EXPECT_EQ(police->deliveries(), 7u);  // 2 New Haven, 2 Stamford, 2 Hartford, 1 Waterbury
  EXPECT_EQ(police->accepted(), 2u);
  EXPECT_EQ(police->accepted_within_deadline(), 2u);
  EXPECT_EQ(police->still_open(), 5u);
  EXPECT_TRUE(police->has_median());
  EXPECT_DOUBLE_EQ(police->share_within_deadline(), 1.0);
  const CommandOutput text = Hartctl("report ack-times " + months);
  ASSERT_EQ(text.exit_code, 0) << text.text;
  EXPECT_THAT(text.text, HasSubstr("LOCAL_LAW_ENFORCEMENT"));
  EXPECT_THAT(text.text, HasSubstr("100.0%"));
}

TEST_F(ReportsE2ETest, AnAgencyIsRefusedAndABadPeriodNamesTheField) {
  ASSERT_TRUE(broker_.running());
  const CommandOutput agency = Hartctl("--as agency-hartford-pd report annual 2026");
  EXPECT_EQ(agency.exit_code, 1) << agency.text;
  EXPECT_THAT(agency.text, HasSubstr("PERMISSION_DENIED"));

  const CommandOutput backwards = Hartctl("report missing-from-care 2026-05 2026-01");
  EXPECT_EQ(backwards.exit_code, 1) << backwards.text;
  EXPECT_THAT(backwards.text, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(backwards.text, HasSubstr("missingFromCare.lastMonth"));

  const CommandOutput not_a_month = Hartctl("report ack-times 2026-13");
  EXPECT_EQ(not_a_month.exit_code, 2) << not_a_month.text;
}

TEST_F(ReportsE2ETest, ReadingAReportIsAnAuditedRead) {
  ASSERT_TRUE(broker_.running());
  ASSERT_EQ(Hartctl("report annual 2026").exit_code, 0);
  auto audit = v1::AuditService::NewStub(broker_.Channel("auditor"));
  v1::ListEventsRequest request;
  request.set_page_size(1000);
  v1::ListEventsResponse response;
  const grpc::Status status = audit->ListEvents(CallContext().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  bool found = false;
  for (const auto& event : response.events()) {
    const v1::AuditEntry& e = event.entry();
    if (e.action() != "report.read") continue;
    found = true;
    EXPECT_THAT(e.actor(), ::testing::StartsWith("supervisor/"));
    EXPECT_EQ(e.detail(), "report=annual_counts year=2026");
    EXPECT_EQ(e.referral_id(), "");
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace hart::testing
