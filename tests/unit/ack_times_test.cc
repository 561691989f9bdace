// Time to business acknowledgement by agency kind: nearest-rank median and
// p90, and the share accepted within the deadline, with a fixed "now".
#include "broker/reports/ack_times.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "broker/common/time_util.h"
#include "tests/support/test_support.h"

namespace hart::reports {
namespace {

const absl::Time kCreated = testing::TestNow() - absl::Hours(48);

std::vector<absl::Duration> Minutes(std::initializer_list<int> values) {
  std::vector<absl::Duration> out;
  for (int v : values) out.push_back(absl::Minutes(v));
  return out;
}

TEST(NearestRankPercentileTest, IsTheSmallestValueWithAtLeastThatShareAtOrBelowIt) {
  const auto ten = Minutes({1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  EXPECT_EQ(NearestRankPercentile(ten, 50), absl::Minutes(5));
  EXPECT_EQ(NearestRankPercentile(ten, 90), absl::Minutes(9));
  EXPECT_EQ(NearestRankPercentile(ten, 100), absl::Minutes(10));
  const auto four = Minutes({10, 20, 30, 40});
  EXPECT_EQ(NearestRankPercentile(four, 50), absl::Minutes(20));
  EXPECT_EQ(NearestRankPercentile(four, 90), absl::Minutes(40));
  EXPECT_EQ(NearestRankPercentile(Minutes({7}), 90), absl::Minutes(7));
}

// A REFERRAL delivery to `kind` created at kCreated with an ack deadline
// `deadline` later, in `state`, accepted `accepted_after` later if set.
DeliveryRecord Delivery(v1::AgencyKind kind, absl::Duration deadline, v1::DeliveryState state,
                        std::optional<absl::Duration> accepted_after = std::nullopt) {
  DeliveryRecord d;
  d.agency_kind = kind;
  d.kind = v1::REFERRAL;
  d.state = state;
  d.created_at = kCreated;
  d.ack_deadline = kCreated + deadline;
  if (accepted_after) d.acknowledged_at = kCreated + *accepted_after;
  return d;
}

TEST(AckTimesTest, MedianP90AndShareWithinDeadlineByAgencyKind) {
  ReportReferral r;
  const absl::Duration four_hours = absl::Hours(4);
  for (int minutes : {30, 60, 90, 120, 150, 180, 210, 240, 300, 600}) {
    r.deliveries.push_back(
        Delivery(v1::LOCAL_LAW_ENFORCEMENT, four_hours, v1::ACKNOWLEDGED, absl::Minutes(minutes)));
  }
  // Declined and dead: decided, not accepted. Pending past its deadline:
  // not accepted in time. Pending before its deadline: still open.
  r.deliveries.push_back(
      Delivery(v1::LOCAL_LAW_ENFORCEMENT, four_hours, v1::DECLINED, absl::Minutes(20)));
  r.deliveries.push_back(Delivery(v1::LOCAL_LAW_ENFORCEMENT, four_hours, v1::DEAD));
  r.deliveries.push_back(Delivery(v1::LOCAL_LAW_ENFORCEMENT, four_hours, v1::PENDING));
  r.deliveries.push_back(Delivery(v1::LOCAL_LAW_ENFORCEMENT, absl::Hours(72), v1::DELIVERED));
  // Not counted: an UPDATE, and a delivery stopped by sealing.
  DeliveryRecord update = Delivery(v1::LOCAL_LAW_ENFORCEMENT, four_hours, v1::PENDING);
  update.kind = v1::UPDATE;
  r.deliveries.push_back(update);
  r.deliveries.push_back(Delivery(v1::LOCAL_LAW_ENFORCEMENT, four_hours, v1::SEALED));
  r.deliveries.push_back(Delivery(v1::NCMEC, absl::Hours(24), v1::ACKNOWLEDGED, absl::Hours(2)));

  AckTimesBuilder builder(testing::TestNow());
  builder.Add(r);
  const std::vector<v1::AckTimesByKind> kinds = std::move(builder).Finish();
  ASSERT_EQ(kinds.size(), 2u);
  const v1::AckTimesByKind& police = kinds[0];
  EXPECT_EQ(police.agency_kind(), v1::LOCAL_LAW_ENFORCEMENT);
  EXPECT_EQ(police.deliveries(), 14u);
  EXPECT_EQ(police.accepted(), 10u);
  EXPECT_EQ(police.accepted_within_deadline(), 8u);  // 300 and 600 minutes are past 4 h
  EXPECT_EQ(police.still_open(), 1u);
  EXPECT_EQ(FromProtoDuration(police.median()), absl::Minutes(150));
  EXPECT_EQ(FromProtoDuration(police.p90()), absl::Minutes(300));
  ASSERT_TRUE(police.has_share_within_deadline());
  EXPECT_DOUBLE_EQ(police.share_within_deadline(), 8.0 / 13.0);

  const v1::AckTimesByKind& ncmec = kinds[1];
  EXPECT_EQ(ncmec.agency_kind(), v1::NCMEC);
  EXPECT_EQ(FromProtoDuration(ncmec.median()), absl::Hours(2));
  EXPECT_DOUBLE_EQ(ncmec.share_within_deadline(), 1.0);
}

TEST(AckTimesTest, NothingAcceptedOrDecidedLeavesTheFiguresUnset) {
  ReportReferral r;
  r.deliveries.push_back(Delivery(v1::MDT, absl::Hours(72), v1::IN_FLIGHT));
  AckTimesBuilder builder(testing::TestNow());
  builder.Add(r);
  const auto kinds = std::move(builder).Finish();
  ASSERT_EQ(kinds.size(), 1u);
  EXPECT_EQ(kinds[0].still_open(), 1u);
  EXPECT_FALSE(kinds[0].has_median());
  EXPECT_FALSE(kinds[0].has_p90());
  EXPECT_FALSE(kinds[0].has_share_within_deadline());
}

}  // namespace
}  // namespace hart::reports
