// Annual counts of trafficking referrals and small-count suppression: counts
// under the threshold are never published, and no published total lets one
// be worked out.
#include "broker/reports/annual_counts.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "broker/reports/small_count_suppression.h"
#include "tests/support/test_support.h"

namespace hart::reports {
namespace {

constexpr auto kShown = v1::ReportCount::NOT_SUPPRESSED;
constexpr auto kBelow = v1::ReportCount::BELOW_THRESHOLD;
constexpr auto kComplement = v1::ReportCount::COMPLEMENTARY;

std::vector<CountCell> Cells(const std::vector<uint32_t>& counts) {
  std::vector<CountCell> cells;
  for (uint32_t c : counts) cells.push_back({std::to_string(cells.size()), "", c});
  return cells;
}

std::vector<v1::ReportCount::Suppression> States(const std::vector<CountCell>& cells) {
  std::vector<v1::ReportCount::Suppression> out;
  for (const auto& c : cells) out.push_back(c.suppression);
  return out;
}

TEST(SmallCountSuppressionTest,
     CountsFromOneToBelowTheThresholdAreSuppressedZeroAndTheThresholdAreNot) {
  std::vector<CountCell> cells = Cells({0, 1, 4, 5, 6});
  SuppressSmallCounts(cells, {}, 5);
  EXPECT_THAT(States(cells), ::testing::ElementsAre(kShown, kBelow, kBelow, kShown, kShown));
  const v1::ReportCount four = ToProtoCount(cells[2]);
  EXPECT_FALSE(four.has_count());  // the number is never sent
  EXPECT_EQ(four.suppression(), kBelow);
  const v1::ReportCount zero = ToProtoCount(cells[0]);
  ASSERT_TRUE(zero.has_count());
  EXPECT_EQ(zero.count(), 0u);
}

TEST(SmallCountSuppressionTest, OneSuppressedPartOfAPublishedTotalTakesTheSmallestOtherWithIt) {
  // total 63 = 40 + 3 + 20 + 0: alone, the 3 would be 63 - 40 - 20 - 0.
  std::vector<CountCell> cells = Cells({63, 40, 3, 20, 0});
  SuppressSmallCounts(cells, {{0, {1, 2, 3, 4}}}, 5);
  EXPECT_THAT(States(cells), ::testing::ElementsAre(kShown, kShown, kBelow, kComplement, kShown));
}

TEST(SmallCountSuppressionTest, TwoSuppressedPartsNeedNoComplement) {
  std::vector<CountCell> cells = Cells({47, 40, 3, 4});
  SuppressSmallCounts(cells, {{0, {1, 2, 3}}}, 5);
  EXPECT_THAT(States(cells), ::testing::ElementsAre(kShown, kShown, kBelow, kBelow));
}

TEST(SmallCountSuppressionTest, ASuppressedTotalNeedsOneOfItsPartsSuppressedToo) {
  // A region of 4 referrals whose towns are 4 and 0 hides itself and its
  // town; the region with 9 in one town hides the town as its complement
  // once the region (9) is suppressed next to it in the regions' sum.
  //          all  r1  r2  r1:a r1:b r2:c
  std::vector<CountCell> cells = Cells({13, 4, 9, 4, 0, 9});
  SuppressSmallCounts(cells, {{0, {1, 2}}, {1, {3, 4}}, {2, {5}}}, 5);
  EXPECT_THAT(States(cells),
              ::testing::ElementsAre(kShown, kBelow, kComplement, kBelow, kShown, kComplement));
}

TEST(SmallCountSuppressionTest, AThresholdOfOneSuppressesNothing) {
  std::vector<CountCell> cells = Cells({3, 1, 2});
  SuppressSmallCounts(cells, {{0, {1, 2}}}, 1);
  EXPECT_THAT(States(cells), ::testing::ElementsAre(kShown, kShown, kShown));
}

TEST(AgeBandTest, BandsByAgeAtReceipt) {
  EXPECT_EQ(AgeBand(0), "0-11");
  EXPECT_EQ(AgeBand(11), "0-11");
  EXPECT_EQ(AgeBand(12), "12-14");
  EXPECT_EQ(AgeBand(14), "12-14");
  EXPECT_EQ(AgeBand(15), "15-17");
  EXPECT_EQ(AgeBand(17), "15-17");
  EXPECT_EQ(AgeBand(18), "18+");
  EXPECT_EQ(AgeBand(std::nullopt), "unknown");
}

class AnnualCountsTest : public ::testing::Test {
 protected:
  AnnualCountsTest() : geography_(Geography::Build(testing::ConnecticutConfig(), &problems_)) {}

  // A trafficking referral in `town`, its police delivery made (or not).
  static ReportReferral Trafficking(v1::TraffickingType::Value type, const std::string& town,
                                    int age, v1::Gender::Value gender, bool police_told = true) {
    ReportReferral r;
    r.referral_id = "ref_" + town + std::to_string(age);
    r.received_at = testing::TestNow();
    r.resolved_town = town;
    r.intake.mutable_concern()->set_trafficking_type(type);
    r.intake.mutable_child()->set_age_years(age);
    r.intake.mutable_child()->set_gender(gender);
    DeliveryRecord police;
    police.agency_kind = v1::LOCAL_LAW_ENFORCEMENT;
    police.kind = v1::REFERRAL;
    if (police_told) police.delivered_at = r.received_at + absl::Minutes(5);
    r.deliveries.push_back(police);
    DeliveryRecord update = police;  // an UPDATE does not notify anyone of a new referral
    update.agency_kind = v1::NCMEC;
    update.kind = v1::UPDATE;
    update.delivered_at = r.received_at;
    r.deliveries.push_back(update);
    return r;
  }

  static const v1::ReportCount& Find(
      const google::protobuf::RepeatedPtrField<v1::ReportCount>& cells, const std::string& key) {
    for (const auto& c : cells) {
      if (c.key() == key) return c;
    }
    static const v1::ReportCount* missing = new v1::ReportCount();
    ADD_FAILURE() << "no cell " << key;
    return *missing;
  }

  std::vector<std::string> problems_;
  Geography geography_;
};

TEST_F(AnnualCountsTest, CountsTraffickingReferralsByEveryDimension) {
  AnnualCountsBuilder builder(absl::CivilYear(2026), geography_, /*threshold=*/2);
  builder.Add(Trafficking(v1::TraffickingType::SEX, "Hartford", 15, v1::Gender::FEMALE));
  builder.Add(Trafficking(v1::TraffickingType::SEX, "Hartford", 16, v1::Gender::FEMALE));
  builder.Add(Trafficking(v1::TraffickingType::SEX, "Waterbury", 15, v1::Gender::FEMALE));
  builder.Add(Trafficking(v1::TraffickingType::SEX, "Waterbury", 17, v1::Gender::FEMALE,
                          /*police_told=*/false));
  ReportReferral not_trafficking =
      Trafficking(v1::TraffickingType::SEX, "Hartford", 9, v1::Gender::MALE);
  not_trafficking.intake.mutable_concern()->clear_trafficking_type();
  builder.Add(not_trafficking);
  const v1::AnnualCountsReport report = std::move(builder).Finish();

  EXPECT_EQ(report.year(), 2026u);
  EXPECT_EQ(report.suppression_threshold(), 2u);
  EXPECT_EQ(report.total().count(), 4u);
  EXPECT_EQ(Find(report.by_trafficking_type(), "SEX").count(), 4u);
  ASSERT_TRUE(Find(report.by_trafficking_type(), "LABOR").has_count());
  EXPECT_EQ(Find(report.by_trafficking_type(), "LABOR").count(), 0u);
  EXPECT_EQ(Find(report.by_region(), "4").count(), 2u);  // Hartford
  EXPECT_EQ(Find(report.by_region(), "5").count(), 2u);  // Waterbury
  EXPECT_EQ(report.by_region_size(), 6);                 // every region, zeros included
  ASSERT_EQ(report.by_town_size(), 2);                   // only towns with referrals
  EXPECT_EQ(Find(report.by_town(), "Hartford").group(), "4");
  EXPECT_EQ(Find(report.by_town(), "Waterbury").count(), 2u);
  EXPECT_EQ(Find(report.by_agency_kind(), "LOCAL_LAW_ENFORCEMENT").count(), 3u);
  EXPECT_EQ(Find(report.by_agency_kind(), "NCMEC").count(), 0u);
  EXPECT_EQ(Find(report.by_age_band(), "15-17").count(), 4u);
  EXPECT_EQ(Find(report.by_gender(), "FEMALE").count(), 4u);
  EXPECT_EQ(report.sealed_referrals_skipped().count(), 0u);
}

TEST_F(AnnualCountsTest, SmallCellsAreSuppressedWithTheirComplementsAndNeverCarryTheNumber) {
  AnnualCountsBuilder builder(absl::CivilYear(2026), geography_, /*threshold=*/5);
  for (int i = 0; i < 5; ++i) {
    builder.Add(Trafficking(v1::TraffickingType::SEX, "Hartford", 15, v1::Gender::FEMALE));
  }
  // Exactly at the threshold minus one: 4 labor referrals in Waterbury, boys.
  for (int i = 0; i < 4; ++i) {
    builder.Add(Trafficking(v1::TraffickingType::LABOR, "Waterbury", 12, v1::Gender::MALE));
  }
  ReportReferral sealed = Trafficking(v1::TraffickingType::SEX, "Hartford", 15, v1::Gender::FEMALE);
  sealed.sealed_at = testing::TestNow();
  sealed.intake.Clear();
  builder.Add(sealed);
  const v1::AnnualCountsReport report = std::move(builder).Finish();

  EXPECT_EQ(report.total().count(), 9u);
  // The 5 is published; the 4 is not, and the 5 goes with it, or 9 - 5 = 4.
  const v1::ReportCount& sex = Find(report.by_trafficking_type(), "SEX");
  const v1::ReportCount& labor = Find(report.by_trafficking_type(), "LABOR");
  EXPECT_EQ(labor.suppression(), kBelow);
  EXPECT_FALSE(labor.has_count());
  EXPECT_EQ(sex.suppression(), kComplement);
  EXPECT_FALSE(sex.has_count());
  EXPECT_EQ(Find(report.by_region(), "5").suppression(), kBelow);
  EXPECT_EQ(Find(report.by_region(), "4").suppression(), kComplement);
  // Each region is its one town: the towns go with their regions.
  EXPECT_EQ(Find(report.by_town(), "Waterbury").suppression(), kBelow);
  EXPECT_EQ(Find(report.by_town(), "Hartford").suppression(), kComplement);
  EXPECT_EQ(Find(report.by_gender(), "MALE").suppression(), kBelow);
  EXPECT_EQ(Find(report.by_gender(), "FEMALE").suppression(), kComplement);
  EXPECT_EQ(Find(report.by_age_band(), "12-14").suppression(), kBelow);
  EXPECT_EQ(Find(report.by_age_band(), "15-17").suppression(), kComplement);
  // Agency kinds add up to no published total: only the small one goes.
  EXPECT_EQ(Find(report.by_agency_kind(), "LOCAL_LAW_ENFORCEMENT").count(), 9u);
  // One sealed referral is itself a small count.
  EXPECT_EQ(report.sealed_referrals_skipped().suppression(), kBelow);
  EXPECT_FALSE(report.sealed_referrals_skipped().has_count());
  // Zeros stay published.
  EXPECT_EQ(Find(report.by_trafficking_type(), "UNDETERMINED").count(), 0u);
}

}  // namespace
}  // namespace hart::reports
