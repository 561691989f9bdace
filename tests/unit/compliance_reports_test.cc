// ComplianceReports over a fake store: the period asked for becomes page
// after page of ReadReportPage calls, a bad request is refused before any
// read, a caller who gave up stops the scan, and no PII reaches a report.
#include "broker/reports/compliance_reports.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "broker/common/field_violations.h"
#include "tests/store/status_assertions.h"
#include "tests/support/test_support.h"

namespace hart::reports {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

// Referrals in memory, served as ReadReportPage promises; every query kept.
class FakeReportStore final : public SupervisorQueries {
 public:
  absl::StatusOr<std::vector<ReferralSummaryRecord>> ListReferrals(const ReferralQuery&) override {
    return absl::UnimplementedError("not used by reports");
  }
  absl::StatusOr<std::vector<DeliveryWithAcks>> GetDeliveries(const std::string&) override {
    return absl::UnimplementedError("not used by reports");
  }
  absl::StatusOr<std::vector<ReportReferral>> ReadReportPage(const ReportPageQuery& q) override {
    queries.push_back(q);
    std::vector<ReportReferral> page;
    for (const ReportReferral& r : referrals) {  // kept in (received_at, id) order
      const auto key = std::make_pair(r.received_at, r.referral_id);
      if (r.received_at < q.received_from || r.received_at >= q.received_to) continue;
      if (q.after && key <= *q.after) continue;
      if (page.size() == q.limit) break;
      page.push_back(r);
    }
    return page;
  }
  std::vector<ReportReferral> referrals;
  std::vector<ReportPageQuery> queries;
};

class ComplianceReportsTest : public ::testing::Test {
 protected:
  ComplianceReportsTest()
      : clock_(testing::TestNow()),
        geography_(Geography::Build(testing::ConnecticutConfig(), &problems_)),
        reports_(store_, geography_, clock_, {.suppression_threshold = 5, .page_size = 2}) {}

  // A missing DCF child's referral received `hours_ago`, with PII in it.
  void AddMissing(const std::string& id, int hours_ago) {
    ReportReferral r;
    r.referral_id = id;
    r.received_at = clock_.Now() - absl::Hours(hours_ago);
    r.resolved_town = "New Haven";
    r.intake.set_careline_report_id("CL-SECRET-" + id);
    r.intake.mutable_child()->set_given_name("Zephyrine");
    r.intake.mutable_child()->set_dcf_involved(true);
    r.intake.mutable_missing()->set_is_missing(true);
    r.intake.mutable_concern()->set_trafficking_type(v1::TraffickingType::SEX);
    store_.referrals.push_back(std::move(r));
  }

  static v1::GetComplianceReportRequest November() {
    v1::GetComplianceReportRequest request;
    auto* r = request.mutable_missing_from_care();
    r->mutable_first_month()->set_year(2026);
    r->mutable_first_month()->set_month(11);
    *r->mutable_last_month() = r->first_month();
    return request;
  }

  ManualClock clock_;
  std::vector<std::string> problems_;
  Geography geography_;
  FakeReportStore store_;
  ComplianceReports reports_;
};

TEST_F(ComplianceReportsTest, ReadsThePeriodPageByPageFromTheLastReferralOfEachPage) {
  for (int i = 0; i < 5; ++i) AddMissing("ref_" + std::to_string(i), 50 - i);
  ASSERT_OK_AND_ASSIGN(auto report, reports_.Run(November()));
  EXPECT_EQ(report.missing_from_care().months(0).referrals(), 5u);
  // 2 + 2 + 1: the short page ends the scan.
  ASSERT_THAT(store_.queries, SizeIs(3));
  EXPECT_FALSE(store_.queries[0].after.has_value());
  ASSERT_TRUE(store_.queries[1].after.has_value());
  EXPECT_EQ(store_.queries[1].after->second, "ref_1");
  EXPECT_EQ(store_.queries[2].after->second, "ref_3");
  for (const auto& q : store_.queries) {
    EXPECT_EQ(q.limit, 2u);
    EXPECT_TRUE(q.with_intake);
    // November in Connecticut: from 04:00Z on the 1st to 05:00Z on 1 December.
    EXPECT_EQ(q.received_from, absl::FromUnixSeconds(1793505600));
    EXPECT_EQ(q.received_to, absl::FromUnixSeconds(1796101200));
  }
}

TEST_F(ComplianceReportsTest, AckTimesReadNoIntake) {
  AddMissing("ref_a", 5);
  v1::GetComplianceReportRequest request;
  *request.mutable_ack_times()->mutable_first_month() =
      November().missing_from_care().first_month();
  *request.mutable_ack_times()->mutable_last_month() = November().missing_from_care().first_month();
  ASSERT_TRUE(reports_.Run(request).ok());
  ASSERT_THAT(store_.queries, Not(IsEmpty()));
  EXPECT_FALSE(store_.queries[0].with_intake);
}

TEST_F(ComplianceReportsTest, NoReportOrABadPeriodIsRefusedWithFieldViolationsBeforeAnyRead) {
  auto expect_violation = [&](const v1::GetComplianceReportRequest& request,
                              const std::string& field) {
    const auto result = reports_.Run(request);
    ASSERT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << field;
    const auto bad = BadRequestOf(result.status());
    ASSERT_TRUE(bad.has_value()) << field;
    ASSERT_GE(bad->field_violations_size(), 1) << field;
    EXPECT_EQ(bad->field_violations(0).field(), field);
  };
  expect_violation(v1::GetComplianceReportRequest(), "report");

  v1::GetComplianceReportRequest backwards = November();
  backwards.mutable_missing_from_care()->mutable_last_month()->set_month(10);
  expect_violation(backwards, "missingFromCare.lastMonth");

  v1::GetComplianceReportRequest thirteen = November();
  thirteen.mutable_missing_from_care()->mutable_last_month()->set_year(2027);
  expect_violation(thirteen, "missingFromCare.lastMonth");  // 2026-11 .. 2027-11

  v1::GetComplianceReportRequest no_first = November();
  no_first.mutable_missing_from_care()->clear_first_month();
  expect_violation(no_first, "missingFromCare.firstMonth");

  v1::GetComplianceReportRequest month_13 = November();
  month_13.mutable_missing_from_care()->mutable_first_month()->set_month(13);
  expect_violation(month_13, "missingFromCare.firstMonth");

  v1::GetComplianceReportRequest no_year;
  no_year.mutable_annual_counts();
  expect_violation(no_year, "annualCounts.year");
  EXPECT_THAT(store_.queries, IsEmpty());
}

TEST_F(ComplianceReportsTest, TwelveMonthsAreAllowed) {
  v1::GetComplianceReportRequest year = November();
  year.mutable_missing_from_care()->mutable_last_month()->set_year(2027);
  year.mutable_missing_from_care()->mutable_last_month()->set_month(10);
  ASSERT_OK_AND_ASSIGN(auto report, reports_.Run(year));
  EXPECT_THAT(report.missing_from_care().months(), SizeIs(12));
}

TEST_F(ComplianceReportsTest, ACallerWhoGaveUpStopsTheScanBetweenPages) {
  for (int i = 0; i < 5; ++i) AddMissing("ref_" + std::to_string(i), 50 - i);
  int polls = 0;
  const auto result = reports_.Run(November(), [&polls] { return ++polls > 1; });
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled);
  EXPECT_THAT(store_.queries, SizeIs(1));
}

TEST_F(ComplianceReportsTest, NoReportCarriesACarelineReportIdOrChildData) {
  AddMissing("ref_a", 30);
  AddMissing("ref_b", 2);
  std::vector<v1::GetComplianceReportRequest> requests = {November()};
  requests.emplace_back().mutable_annual_counts()->set_year(2026);
  requests.emplace_back();
  *requests.back().mutable_ack_times()->mutable_first_month() =
      November().missing_from_care().first_month();
  *requests.back().mutable_ack_times()->mutable_last_month() =
      November().missing_from_care().first_month();
  for (const auto& request : requests) {
    ASSERT_OK_AND_ASSIGN(auto report, reports_.Run(request));
    const std::string bytes = report.SerializeAsString();
    EXPECT_THAT(bytes, Not(HasSubstr("CL-SECRET")));
    EXPECT_THAT(bytes, Not(HasSubstr("Zephyrine")));
  }
}

TEST(ReportOptionsTest, ThresholdDefaultsToFive) {
  EXPECT_EQ(ReportOptionsFromConfig(cfg::ReportOptions()).suppression_threshold, 5u);
  cfg::ReportOptions config;
  config.set_suppression_threshold(11);
  EXPECT_EQ(ReportOptionsFromConfig(config).suppression_threshold, 11u);
}

TEST(ReportOptionsTest, TheAuditDetailNamesTheReportAndPeriod) {
  v1::GetComplianceReportRequest request;
  request.mutable_annual_counts()->set_year(2026);
  EXPECT_EQ(DescribeReportRequest(request), "report=annual_counts year=2026");
  request.mutable_missing_from_care()->mutable_first_month()->set_year(2026);
  request.mutable_missing_from_care()->mutable_first_month()->set_month(3);
  request.mutable_missing_from_care()->mutable_last_month()->set_year(2026);
  request.mutable_missing_from_care()->mutable_last_month()->set_month(11);
  EXPECT_EQ(DescribeReportRequest(request), "report=missing_from_care from=2026-03 to=2026-11");
}

}  // namespace
}  // namespace hart::reports
