// The Store contract for listing referrals: newest first, paged strictly
// before a cursor, every set filter applied, with per-referral counts.
#include "tests/store/conformance_fixture.h"

namespace hart::conformance {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class ListingConformanceTest : public StoreConformanceTest {
 protected:
  // Referral `key` accepted (and received) `minutes` after kT0 in `town`,
  // to `agencies`.
  void CreateAt(const std::string& key, int minutes, const std::string& town,
                const std::vector<std::string>& agencies = {"hartford-pd"}) {
    NewReferral r = Referral(key, agencies);
    r.referral.accepted_at = kT0 + absl::Minutes(minutes);
    r.referral.received_at = kT0 + absl::Minutes(minutes) - absl::Seconds(30);
    r.referral.resolved_town = town;
    ASSERT_OK(Create(r));
  }

  std::vector<std::string> Ids(const ReferralQuery& query) {
    auto listed = store().ListReferrals(query);
    EXPECT_TRUE(listed.ok()) << listed.status();
    std::vector<std::string> ids;
    for (const auto& r : listed.value_or(std::vector<ReferralSummaryRecord>{})) {
      ids.push_back(r.referral_id);
    }
    return ids;
  }
};
HART_STORE_CONFORMANCE_SUITE(ListingConformanceTest);

TEST_P(ListingConformanceTest, ListsNewestFirstAndPagesStrictlyBeforeACursor) {
  ASSERT_NO_FATAL_FAILURE(CreateAt("a", 0, "Hartford"));
  ASSERT_NO_FATAL_FAILURE(CreateAt("b", 1, "Hartford"));
  ASSERT_NO_FATAL_FAILURE(CreateAt("c", 2, "Hartford"));
  ASSERT_NO_FATAL_FAILURE(CreateAt("d", 2, "Hartford"));  // same time: ties go by id
  EXPECT_THAT(Ids({.limit = 2}), ElementsAre("ref_d", "ref_c"));
  const auto cursor = std::make_pair(kT0 + absl::Minutes(2), std::string("ref_c"));
  EXPECT_THAT(Ids({.limit = 2, .before = cursor}), ElementsAre("ref_b", "ref_a"));
  EXPECT_THAT(Ids({.limit = 2, .before = std::make_pair(kT0, std::string("ref_a"))}), IsEmpty());
}

TEST_P(ListingConformanceTest, FiltersByTownRuleAgencyAndReceivedTime) {
  ASSERT_NO_FATAL_FAILURE(CreateAt("a", 0, "Hartford", {"hartford-pd"}));
  ASSERT_NO_FATAL_FAILURE(CreateAt("b", 10, "New Haven", {"new-haven-pd", "dcf-careline"}));
  ASSERT_NO_FATAL_FAILURE(CreateAt("c", 20, "Bridgeport", {"bridgeport-pd"}));
  EXPECT_THAT(Ids({.towns = {"New Haven", "Bridgeport"}}), ElementsAre("ref_c", "ref_b"));
  EXPECT_THAT(Ids({.agency_id = "dcf-careline"}), ElementsAre("ref_b"));
  EXPECT_THAT(Ids({.rule_id = "dcf-involved"}), ElementsAre("ref_c", "ref_b", "ref_a"));
  EXPECT_THAT(Ids({.rule_id = "dcf"}), IsEmpty());  // whole rule ids only
  EXPECT_THAT(Ids({.rule_id = "DCF-Involved"}), ElementsAre("ref_c", "ref_b", "ref_a"));
  // No wildcards: an id is matched as written.
  EXPECT_THAT(Ids({.rule_id = "dcf_involved"}), IsEmpty());
  EXPECT_THAT(Ids({.rule_id = "dcf%"}), IsEmpty());
  EXPECT_THAT(
      Ids({.received_from = kT0 + absl::Minutes(5), .received_to = kT0 + absl::Minutes(19)}),
      ElementsAre("ref_b"));
  EXPECT_THAT(Ids({.towns = {"Hartford"}, .agency_id = "dcf-careline"}), IsEmpty());
}

TEST_P(ListingConformanceTest, FiltersByDeliveryStateAndOverdue) {
  ASSERT_NO_FATAL_FAILURE(CreateAt("a", 0, "Hartford"));
  ASSERT_NO_FATAL_FAILURE(CreateAt("b", 0, "Hartford", {"hartford-pd", "dcf-careline"}));
  // b's police delivery is accepted; its DCF one stays pending.
  ASSERT_OK(store().ApplyAck(Accepted(DeliveryId("b", "hartford-pd"), v1::PENDING, kT0)));
  EXPECT_THAT(Ids({.states = {v1::ACKNOWLEDGED}}), ElementsAre("ref_b"));
  EXPECT_THAT(Ids({.states = {v1::PENDING}}), ElementsAre("ref_b", "ref_a"));
  EXPECT_THAT(Ids({.states = {v1::DEAD}}), IsEmpty());

  // Deliveries must reach the partner within 24 h and be accepted within
  // 72 h of kT0; a pending one is overdue once the first has passed.
  const absl::Time before_deadlines = kT0 + absl::Hours(23);
  const absl::Time after_deadline = kT0 + absl::Hours(25);
  EXPECT_THAT(Ids({.overdue_at = before_deadlines}), IsEmpty());
  EXPECT_THAT(Ids({.overdue_at = after_deadline}), ElementsAre("ref_b", "ref_a"));
  ASSERT_OK(store().ApplyAck(Accepted(DeliveryId("a", "hartford-pd"), v1::PENDING, kT0)));
  EXPECT_THAT(Ids({.overdue_at = after_deadline}), ElementsAre("ref_b"));
}

TEST_P(ListingConformanceTest, SummariesCountDeliveriesByOutcome) {
  ASSERT_NO_FATAL_FAILURE(CreateAt("a", 0, "Hartford", {"accepts", "declines", "dies", "waits"}));
  ASSERT_OK(store().ApplyAck(Accepted(DeliveryId("a", "accepts"), v1::PENDING, kT0)));
  ASSERT_OK(store().ApplyAck(Ack(DeliveryId("a", "declines"), v1::Acknowledgement::DECLINED,
                                 v1::PENDING, v1::DECLINED, kT0, "no capacity")));
  ASSERT_OK_AND_ASSIGN(auto claimed, Claim(kT0, kT0 + absl::Minutes(1)));
  for (const auto& d : claimed) {
    const DeliveryOutcome outcome =
        d.agency_id == "dies" ? Dead(d, kT0) : RetryLater(d, kT0, kT0 + absl::Hours(1));
    ASSERT_OK(store().RecordOutcomes({&outcome, 1}));
  }
  ASSERT_OK_AND_ASSIGN(auto listed, store().ListReferrals({.overdue_at = kT0 + absl::Hours(80)}));
  ASSERT_EQ(listed.size(), 1u);
  const ReferralSummaryRecord& s = listed[0];
  EXPECT_EQ(s.referral_id, ReferralId("a"));
  EXPECT_EQ(s.careline_report_id, ReportId("a"));
  EXPECT_EQ(s.priority, v1::URGENT);
  EXPECT_EQ(s.resolved_town, "Hartford");
  EXPECT_EQ(s.accepted_at, kT0);
  EXPECT_EQ(s.deliveries, 4u);
  EXPECT_EQ(s.acknowledged, 1u);
  EXPECT_EQ(s.declined, 1u);
  EXPECT_EQ(s.dead, 1u);
  EXPECT_GE(s.overdue, 1u);  // at least the one still waiting
  EXPECT_EQ(s.next_deadline, kT0 + absl::Hours(72));
}

}  // namespace
}  // namespace hart::conformance
