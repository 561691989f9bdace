// The federal 24-hour rule report: which referrals are missing from care,
// when a notification was made, and each outcome, with hand-built referrals
// and a fixed "now".
#include "broker/reports/federal_rule.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "broker/common/time_util.h"
#include "broker/reports/missing_from_care_report.h"
#include "broker/reports/report_period.h"

namespace hart::reports {
namespace {

// 2026-11-10T14:00:00Z (09:00 in New Haven).
const absl::Time kReceived = absl::FromUnixSeconds(1794319200);

DeliveryRecord Delivery(const std::string& id, v1::AgencyKind kind,
                        std::optional<absl::Time> delivered_at,
                        v1::MessageKind message = v1::REFERRAL) {
  DeliveryRecord d;
  d.delivery_id = id;
  d.referral_id = "ref_a";
  d.agency_id = kind == v1::NCMEC ? "ncmec" : "new-haven-pd";
  d.agency_kind = kind;
  d.kind = message;
  d.created_at = kReceived + absl::Minutes(1);
  d.delivered_at = delivered_at;
  d.state = delivered_at ? v1::DELIVERED : v1::PENDING;
  return d;
}

// A DCF-involved child reported missing, received at `received`, with an
// NCMEC and a police delivery made `ncmec_after` / `police_after` later
// (unset: not made).
ReportReferral Missing(const std::string& id, absl::Time received,
                       std::optional<absl::Duration> ncmec_after,
                       std::optional<absl::Duration> police_after) {
  ReportReferral r;
  r.referral_id = id;
  r.received_at = received;
  r.accepted_at = received + absl::Minutes(1);
  r.resolved_town = "New Haven";
  r.intake.mutable_child()->set_dcf_involved(true);
  r.intake.mutable_missing()->set_is_missing(true);
  auto at = [&](std::optional<absl::Duration> after) -> std::optional<absl::Time> {
    if (!after) return std::nullopt;
    return received + *after;
  };
  r.deliveries.push_back(Delivery("dlv_" + id + "_ncmec", v1::NCMEC, at(ncmec_after)));
  r.deliveries.push_back(
      Delivery("dlv_" + id + "_police", v1::LOCAL_LAW_ENFORCEMENT, at(police_after)));
  return r;
}

TEST(FederalRuleTest, MadeWithin24HoursIsOnTimeUpToTheDeadlineItself) {
  const ReportReferral r = Missing("ref_a", kReceived, absl::Hours(2), absl::Hours(24));
  const v1::MissingFromCareReferral c = ClassifyMissingFromCare(r, kReceived + absl::Hours(48));
  EXPECT_EQ(c.outcome(), v1::FederalNotification::ON_TIME);
  EXPECT_EQ(c.ncmec().outcome(), v1::FederalNotification::ON_TIME);
  EXPECT_EQ(c.law_enforcement().outcome(), v1::FederalNotification::ON_TIME);
  EXPECT_EQ(FromProtoTime(c.ncmec().made_at()), kReceived + absl::Hours(2));
  EXPECT_EQ(FromProtoTime(c.deadline()), kReceived + absl::Hours(24));
  EXPECT_EQ(c.ncmec().delivery_id(), "dlv_ref_a_ncmec");
  EXPECT_EQ(c.law_enforcement().agency_id(), "new-haven-pd");
  EXPECT_FALSE(c.has_late_by());
}

TEST(FederalRuleTest, MadeAfterTheDeadlineIsLateByExactlyTheOverrun) {
  const ReportReferral r =
      Missing("ref_a", kReceived, absl::Hours(30), absl::Hours(24) + absl::Minutes(45));
  const v1::MissingFromCareReferral c = ClassifyMissingFromCare(r, kReceived + absl::Hours(48));
  EXPECT_EQ(c.ncmec().outcome(), v1::FederalNotification::LATE);
  EXPECT_EQ(FromProtoDuration(c.ncmec().late_by()), absl::Hours(6));
  EXPECT_EQ(c.law_enforcement().outcome(), v1::FederalNotification::LATE);
  EXPECT_EQ(FromProtoDuration(c.law_enforcement().late_by()), absl::Minutes(45));
  // The referral is as late as its later notification.
  EXPECT_EQ(c.outcome(), v1::FederalNotification::LATE);
  EXPECT_EQ(FromProtoDuration(c.late_by()), absl::Hours(6));
}

TEST(FederalRuleTest, NotMadeIsNotYetDueUntilTheDeadlineThenNeverMade) {
  const ReportReferral r = Missing("ref_a", kReceived, std::nullopt, absl::Hours(1));
  EXPECT_EQ(ClassifyMissingFromCare(r, kReceived + absl::Hours(23)).outcome(),
            v1::FederalNotification::NOT_YET_DUE);
  EXPECT_EQ(ClassifyMissingFromCare(r, kReceived + absl::Hours(24)).outcome(),
            v1::FederalNotification::NOT_YET_DUE);
  const v1::MissingFromCareReferral after =
      ClassifyMissingFromCare(r, kReceived + absl::Hours(24) + absl::Seconds(1));
  EXPECT_EQ(after.outcome(), v1::FederalNotification::NEVER_MADE);
  EXPECT_EQ(after.ncmec().outcome(), v1::FederalNotification::NEVER_MADE);
  EXPECT_FALSE(after.ncmec().has_made_at());
  // The delivery that has not arrived is still named.
  EXPECT_EQ(after.ncmec().delivery_id(), "dlv_ref_a_ncmec");
  EXPECT_EQ(after.law_enforcement().outcome(), v1::FederalNotification::ON_TIME);
}

TEST(FederalRuleTest, NeverMadeOutranksLate) {
  const ReportReferral r = Missing("ref_a", kReceived, std::nullopt, absl::Hours(30));
  const v1::MissingFromCareReferral c = ClassifyMissingFromCare(r, kReceived + absl::Hours(72));
  EXPECT_EQ(c.outcome(), v1::FederalNotification::NEVER_MADE);
  EXPECT_FALSE(c.has_late_by());
}

TEST(FederalRuleTest, TheEarliestDeliveryThatReachedAnAgencyOfTheKindDecides) {
  ReportReferral r = Missing("ref_a", kReceived, std::nullopt, absl::Hours(1));
  // NCMEC's first delivery died; the supervisor's redelivery arrived in time;
  // an UPDATE and an escalation notice do not count as the report.
  r.deliveries[0].state = v1::DEAD;
  r.deliveries.push_back(Delivery("dlv_update", v1::NCMEC, kReceived + absl::Hours(1), v1::UPDATE));
  r.deliveries.push_back(Delivery("dlv_redelivered", v1::NCMEC, kReceived + absl::Hours(20)));
  r.deliveries.push_back(
      Delivery("dlv_escalation", v1::NCMEC, kReceived + absl::Hours(3), v1::ESCALATION));
  const v1::FederalNotification n = NotificationOf(r, v1::NCMEC, kReceived + absl::Hours(48));
  EXPECT_EQ(n.outcome(), v1::FederalNotification::ON_TIME);
  EXPECT_EQ(n.delivery_id(), "dlv_redelivered");
  EXPECT_EQ(FromProtoTime(n.made_at()), kReceived + absl::Hours(20));
}

TEST(FederalRuleTest, OtherAgencyKindsAreNotLawEnforcement) {
  ReportReferral r = Missing("ref_a", kReceived, absl::Hours(1), std::nullopt);
  r.deliveries.pop_back();
  r.deliveries.push_back(Delivery("dlv_task_force", v1::HT_TASK_FORCE, kReceived));
  const v1::FederalNotification n =
      NotificationOf(r, v1::LOCAL_LAW_ENFORCEMENT, kReceived + absl::Hours(48));
  EXPECT_EQ(n.outcome(), v1::FederalNotification::NEVER_MADE);
  EXPECT_EQ(n.delivery_id(), "");  // the referral has no police delivery at all
}

TEST(FederalRuleTest, MissingFromCareMeansDcfInvolvedAndReportedMissingEvenIfFoundSince) {
  ReportReferral r = Missing("ref_a", kReceived, absl::Hours(1), absl::Hours(1));
  EXPECT_TRUE(IsMissingFromCare(r));
  r.intake.mutable_child()->set_dcf_involved(false);
  EXPECT_FALSE(IsMissingFromCare(r));  // not in care: the federal rule does not apply

  r.intake.mutable_child()->set_dcf_involved(true);
  r.intake.mutable_missing()->set_is_missing(false);
  EXPECT_FALSE(IsMissingFromCare(r));
  // A "found" supplement cleared the flag and told the agencies in an UPDATE.
  DeliveryRecord found = Delivery("dlv_found", v1::NCMEC, kReceived + absl::Hours(5), v1::UPDATE);
  found.changes = {"missing.is_missing", "missing.missing_since"};
  r.deliveries.push_back(found);
  EXPECT_TRUE(IsMissingFromCare(r));
}

TEST(MissingFromCareReportTest, CountsEachMonthInNewYorkTimeAndListsItsReferrals) {
  absl::TimeZone zone;
  ASSERT_TRUE(absl::LoadTimeZone(kReportTimeZone, &zone));
  const absl::Time now = absl::FromCivil(absl::CivilSecond(2026, 12, 2, 12, 0, 0), zone);
  MissingFromCareReportBuilder builder(absl::CivilMonth(2026, 10), absl::CivilMonth(2026, 12), zone,
                                       now);
  // 2026-12-01T03:00Z is still 30 November in Connecticut.
  const absl::Time late_november = absl::FromUnixSeconds(1796094000);
  builder.Add(Missing("ref_on_time", kReceived, absl::Hours(1), absl::Hours(2)));
  builder.Add(Missing("ref_late", kReceived + absl::Hours(1), absl::Hours(26), absl::Hours(2)));
  builder.Add(Missing("ref_never", late_november, std::nullopt, absl::Hours(2)));
  builder.Add(Missing("ref_due", now - absl::Hours(3), std::nullopt, std::nullopt));
  ReportReferral not_missing = Missing("ref_other", kReceived, std::nullopt, std::nullopt);
  not_missing.intake.mutable_missing()->set_is_missing(false);
  builder.Add(not_missing);
  ReportReferral sealed = Missing("ref_sealed", kReceived, std::nullopt, std::nullopt);
  sealed.sealed_at = kReceived + absl::Hours(2);
  sealed.intake.Clear();
  builder.Add(sealed);

  const v1::MissingFromCareReport report = std::move(builder).Finish();
  ASSERT_EQ(report.months_size(), 3);  // October is listed although empty
  EXPECT_EQ(report.months(0).month().month(), 10u);
  EXPECT_EQ(report.months(0).referrals(), 0u);
  const v1::MissingFromCareMonth& november = report.months(1);
  EXPECT_EQ(november.referrals(), 3u);
  EXPECT_EQ(november.on_time(), 1u);
  EXPECT_EQ(november.late(), 1u);
  EXPECT_EQ(november.never_made(), 1u);
  EXPECT_EQ(november.not_yet_due(), 0u);
  ASSERT_EQ(november.items_size(), 3);
  EXPECT_EQ(november.items(0).referral_id(), "ref_on_time");
  EXPECT_EQ(november.items(1).referral_id(), "ref_late");
  EXPECT_EQ(FromProtoDuration(november.items(1).late_by()), absl::Hours(2));
  EXPECT_EQ(november.items(2).referral_id(), "ref_never");
  const v1::MissingFromCareMonth& december = report.months(2);
  EXPECT_EQ(december.not_yet_due(), 1u);
  ASSERT_EQ(december.items_size(), 1);
  EXPECT_EQ(december.items(0).referral_id(), "ref_due");
  EXPECT_EQ(report.sealed_referrals_skipped(), 1u);
}

}  // namespace
}  // namespace hart::reports
