// The Store contract for compliance reports (ReadReportPage): the referrals
// received in [from, to), oldest first by (received_at, referral_id), paged
// strictly after a cursor, each with its intake opened (unless sealed or not
// asked for) and every delivery in creation order.
#include "tests/store/conformance_fixture.h"

namespace hart::conformance {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class ReportConformanceTest : public StoreConformanceTest {
 protected:
  // Referral `key` received `minutes` after kT0, to `agencies`.
  void CreateReceived(const std::string& key, int minutes,
                      const std::vector<std::string>& agencies = {"hartford-pd"}) {
    NewReferral r = Referral(key, agencies);
    r.referral.received_at = kT0 + absl::Minutes(minutes);
    ASSERT_OK(Create(r));
  }

  std::vector<std::string> Ids(const ReportPageQuery& query) {
    auto page = store().ReadReportPage(query);
    EXPECT_TRUE(page.ok()) << page.status();
    std::vector<std::string> ids;
    for (const auto& r : page.value_or(std::vector<ReportReferral>{})) ids.push_back(r.referral_id);
    return ids;
  }
};
HART_STORE_CONFORMANCE_SUITE(ReportConformanceTest);

TEST_P(ReportConformanceTest, ReadsThePeriodOldestFirstAndPagesStrictlyAfterACursor) {
  ASSERT_NO_FATAL_FAILURE(CreateReceived("before", -1));
  ASSERT_NO_FATAL_FAILURE(CreateReceived("d", 0));  // at `from`: in
  ASSERT_NO_FATAL_FAILURE(CreateReceived("c", 5));
  ASSERT_NO_FATAL_FAILURE(CreateReceived("a", 10));  // same time: ties go by id
  ASSERT_NO_FATAL_FAILURE(CreateReceived("b", 10));
  ASSERT_NO_FATAL_FAILURE(CreateReceived("end", 20));  // at `to`: out
  const absl::Time from = kT0;
  const absl::Time to = kT0 + absl::Minutes(20);
  EXPECT_THAT(Ids({.received_from = from, .received_to = to, .limit = 10}),
              ElementsAre("ref_d", "ref_c", "ref_a", "ref_b"));
  EXPECT_THAT(Ids({.received_from = from, .received_to = to, .limit = 2}),
              ElementsAre("ref_d", "ref_c"));
  const auto after_c = std::make_pair(kT0 + absl::Minutes(5), ReferralId("c"));
  EXPECT_THAT(Ids({.received_from = from, .received_to = to, .after = after_c, .limit = 2}),
              ElementsAre("ref_a", "ref_b"));
  const auto after_a = std::make_pair(kT0 + absl::Minutes(10), ReferralId("a"));
  EXPECT_THAT(Ids({.received_from = from, .received_to = to, .after = after_a, .limit = 2}),
              ElementsAre("ref_b"));
  const auto after_b = std::make_pair(kT0 + absl::Minutes(10), ReferralId("b"));
  EXPECT_THAT(Ids({.received_from = from, .received_to = to, .after = after_b, .limit = 2}),
              IsEmpty());
  EXPECT_EQ(
      STATUS_CODE(store().ReadReportPage({.received_from = from, .received_to = to, .limit = 0})),
      absl::StatusCode::kInvalidArgument);
}

TEST_P(ReportConformanceTest, EachReferralComesWithItsOpenedIntakeAndEveryDeliveryInOrder) {
  ASSERT_NO_FATAL_FAILURE(CreateReceived("a", 0, {"hartford-pd", "ncmec", "csao"}));
  // One reaches its agency; a supplement adds a delivery later.
  ASSERT_OK(store().ApplyAck(Ack(DeliveryId("a", "ncmec"), v1::Acknowledgement::RECEIVED,
                                 v1::PENDING, v1::DELIVERED, kT0 + absl::Hours(2))));
  ASSERT_OK_AND_ASSIGN(auto stored, store().GetReferral(ReferralId("a")));
  ReferralChange change = ChangeOf(stored, kT0 + absl::Hours(3));
  change.intake.mutable_missing()->set_is_missing(true);
  change.new_deliveries.push_back(Delivery(ReferralId("a"), DeliveryId("a", "mdt"), "mdt"));
  ASSERT_OK(store().ApplyReferralChange(change));

  ASSERT_OK_AND_ASSIGN(auto page, store().ReadReportPage(
                                      {.received_from = kT0, .received_to = kT0 + absl::Hours(1)}));
  ASSERT_EQ(page.size(), 1u);
  const ReportReferral& r = page[0];
  EXPECT_EQ(r.referral_id, ReferralId("a"));
  EXPECT_EQ(r.received_at, kT0);
  EXPECT_EQ(r.accepted_at, kT0);
  EXPECT_EQ(r.resolved_town, "Hartford");
  EXPECT_FALSE(r.sealed_at.has_value());
  // The facts as they stand now, in the clear, and nothing sealed left over.
  EXPECT_EQ(r.intake.child().given_name(), kChildGivenName);
  EXPECT_TRUE(r.intake.missing().is_missing());
  EXPECT_TRUE(r.sealed_intake.empty());
  std::vector<std::string> ids;
  for (const auto& d : r.deliveries) ids.push_back(d.delivery_id);
  EXPECT_THAT(ids, ElementsAre(DeliveryId("a", "hartford-pd"), DeliveryId("a", "ncmec"),
                               DeliveryId("a", "csao"), DeliveryId("a", "mdt")));
  EXPECT_EQ(r.deliveries[1].state, v1::DELIVERED);
  EXPECT_EQ(r.deliveries[1].delivered_at, kT0 + absl::Hours(2));
  EXPECT_FALSE(r.deliveries[0].delivered_at.has_value());
  EXPECT_EQ(r.deliveries[0].ack_deadline, kT0 + absl::Hours(72));
}

TEST_P(ReportConformanceTest, WithoutIntakesOnlyTheDeliveriesAreRead) {
  ASSERT_NO_FATAL_FAILURE(CreateReceived("a", 0, {"hartford-pd", "ncmec"}));
  ASSERT_OK_AND_ASSIGN(auto page, store().ReadReportPage({.received_from = kT0,
                                                          .received_to = kT0 + absl::Hours(1),
                                                          .with_intake = false}));
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].intake.ByteSizeLong(), 0u);
  EXPECT_EQ(page[0].deliveries.size(), 2u);
}

TEST_P(ReportConformanceTest, ASealedReferralComesWithoutItsFacts) {
  ASSERT_NO_FATAL_FAILURE(CreateReceived("a", 0, {"hartford-pd"}));
  ASSERT_NO_FATAL_FAILURE(CreateReceived("b", 1, {"hartford-pd"}));
  ASSERT_OK(store().SealReferral(Seal(ReferralId("a"), kT0 + absl::Hours(1))));
  ASSERT_OK_AND_ASSIGN(auto page, store().ReadReportPage(
                                      {.received_from = kT0, .received_to = kT0 + absl::Hours(1)}));
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].sealed_at, kT0 + absl::Hours(1));
  EXPECT_EQ(page[0].intake.ByteSizeLong(), 0u);
  EXPECT_EQ(page[0].deliveries.size(), 1u);  // not PII: still counted by the reports
  EXPECT_EQ(page[1].intake.child().family_name(), kChildFamilyName);
}

}  // namespace
}  // namespace hart::conformance
