// The Store contract for priority: due URGENT deliveries are claimed before
// due NORMAL ones, and a held agency (AgencyHold) keeps back only its NORMAL
// backlog, so an urgent referral never waits behind a slow partner's queue.
#include "tests/store/conformance_fixture.h"

namespace hart::conformance {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class ClaimPriorityConformanceTest : public StoreConformanceTest {};
HART_STORE_CONFORMANCE_SUITE(ClaimPriorityConformanceTest);

const absl::Duration kLease = absl::Minutes(1);

NewReferral UrgentReferral(const std::string& key, const std::vector<std::string>& agencies,
                           absl::Time due) {
  NewReferral n = Referral(key, agencies, due);
  for (DeliveryRecord& d : n.deliveries) d.priority = v1::URGENT;
  return n;
}

TEST_P(ClaimPriorityConformanceTest, APriorityIsStoredWithItsDelivery) {
  ASSERT_OK(Create(Referral("normal", {"hartford-pd"})));
  ASSERT_OK(Create(UrgentReferral("urgent", {"hartford-pd"}, kT0)));
  EXPECT_EQ(MUST(store().GetDelivery(DeliveryId("normal", "hartford-pd"))).priority, v1::NORMAL);
  EXPECT_EQ(MUST(store().GetDelivery(DeliveryId("urgent", "hartford-pd"))).priority, v1::URGENT);
  ASSERT_OK_AND_ASSIGN(auto claimed, Claim(kT0, kT0 + kLease));
  ASSERT_EQ(claimed.size(), 2u);
  EXPECT_EQ(claimed[0].priority, v1::URGENT);
  EXPECT_EQ(claimed[1].priority, v1::NORMAL);
}

// Verifies a batch takes the due URGENT deliveries first, each class in due
// order, whatever the NORMAL ones' due times, and none twice.
TEST_P(ClaimPriorityConformanceTest, DueUrgentDeliveriesAreClaimedBeforeNormalOnesDueEarlier) {
  ASSERT_OK(Create(Referral("a", {"hartford-pd"}, kT0)));
  ASSERT_OK(Create(Referral("b", {"ncmec"}, kT0 + absl::Minutes(1))));
  ASSERT_OK(Create(UrgentReferral("u2", {"hartford-pd"}, kT0 + absl::Minutes(7))));
  ASSERT_OK(Create(UrgentReferral("u1", {"hartford-pd"}, kT0 + absl::Minutes(5))));
  ASSERT_OK(Create(UrgentReferral("later", {"hartford-pd"}, kT0 + absl::Hours(1))));
  const absl::Time now = kT0 + absl::Minutes(10);
  ASSERT_OK_AND_ASSIGN(auto first, Claim(now, now + kLease, /*limit=*/3));
  EXPECT_THAT(IdsOf(first),
              ElementsAre(DeliveryId("u1", "hartford-pd"), DeliveryId("u2", "hartford-pd"),
                          DeliveryId("a", "hartford-pd")));
  ASSERT_OK_AND_ASSIGN(auto rest, Claim(now, now + kLease, /*limit=*/3));
  EXPECT_THAT(IdsOf(rest), ElementsAre(DeliveryId("b", "ncmec")));
  // One that is not due yet waits its turn, urgent or not.
  ASSERT_OK_AND_ASSIGN(auto none, Claim(now, now + kLease, /*limit=*/3));
  EXPECT_THAT(none, IsEmpty());
}

// Verifies a batch filled by URGENT deliveries leaves the NORMAL ones for
// the next, and that expired claims come after both.
TEST_P(ClaimPriorityConformanceTest, AnUrgentBacklogFillsTheBatchBeforeAnythingElse) {
  ASSERT_OK(Create(Referral("stale", {"hartford-pd"}, kT0)));
  ASSERT_OK_AND_ASSIGN(auto stale, Claim(kT0, kT0 + kLease));
  ASSERT_EQ(stale.size(), 1u);
  ASSERT_OK(Create(Referral("normal", {"hartford-pd"}, kT0)));
  ASSERT_OK(Create(UrgentReferral("urgent", {"p1", "p2"}, kT0 + absl::Minutes(2))));
  const absl::Time now = kT0 + absl::Minutes(5);  // the stale claim's lease has run out
  ASSERT_OK_AND_ASSIGN(auto first, Claim(now, now + kLease, /*limit=*/2));
  EXPECT_THAT(IdsOf(first), ElementsAre(DeliveryId("urgent", "p1"), DeliveryId("urgent", "p2")));
  ASSERT_OK_AND_ASSIGN(auto second, Claim(now, now + kLease, /*limit=*/2));
  EXPECT_THAT(IdsOf(second), ElementsAre(DeliveryId("normal", "hartford-pd"),
                                         DeliveryId("stale", "hartford-pd")));
  EXPECT_EQ(second[1].attempts, 2u);
}

// Verifies a held agency's URGENT deliveries are due and claimed during the
// hold, its NORMAL ones not before the hold ends.
TEST_P(ClaimPriorityConformanceTest, AHoldKeepsBackOnlyTheNormalBacklog) {
  ASSERT_OK(Create(Referral("backlog", {"ncmec"}, kT0)));
  ASSERT_OK(Create(UrgentReferral("urgent", {"ncmec"}, kT0 + absl::Minutes(3))));
  const absl::Time until = kT0 + absl::Hours(1);
  const std::vector<AgencyHold> holds = {{"ncmec", until}};
  auto claim = [&](absl::Time now) {
    // Leases past the hold, so that no claim's expiry is due first.
    return MUST(store().ClaimDueDeliveries(now, kT0 + absl::Hours(3), 10, holds));
  };
  EXPECT_EQ(store().NextDueTime(holds).value_or(std::nullopt), kT0 + absl::Minutes(3));
  EXPECT_THAT(claim(kT0 + absl::Minutes(2)), IsEmpty());
  EXPECT_THAT(IdsOf(claim(kT0 + absl::Minutes(3))), ElementsAre(DeliveryId("urgent", "ncmec")));
  EXPECT_EQ(store().NextDueTime(holds).value_or(std::nullopt), until);
  EXPECT_THAT(claim(until - absl::Seconds(1)), IsEmpty());
  EXPECT_THAT(IdsOf(claim(until)), ElementsAre(DeliveryId("backlog", "ncmec")));
}

// Verifies a change of the referral's priority (a supplement: the child is
// in danger now, or no longer) reaches every delivery of it, and the claims
// follow it.
TEST_P(ClaimPriorityConformanceTest, AChangeOfTheReferralsPriorityReachesItsDeliveries) {
  NewReferral normal = Referral("a", {"hartford-pd", "ncmec"}, kT0);
  normal.referral.priority = v1::NORMAL;
  normal.referral.receipt.set_priority(v1::NORMAL);
  ASSERT_OK(Create(normal));
  ASSERT_OK(Create(Referral("earlier", {"p1"}, kT0 - absl::Minutes(1))));
  ASSERT_OK_AND_ASSIGN(auto stored, store().GetReferral(ReferralId("a")));
  ReferralChange urgent = ChangeOf(stored, kT0 + absl::Minutes(1));
  urgent.priority = v1::URGENT;
  ASSERT_OK(store().ApplyReferralChange(urgent));
  for (const char* agency : {"hartford-pd", "ncmec"}) {
    EXPECT_EQ(MUST(store().GetDelivery(DeliveryId("a", agency))).priority, v1::URGENT) << agency;
  }
  EXPECT_EQ(MUST(store().GetDelivery(DeliveryId("earlier", "p1"))).priority, v1::NORMAL);
  const absl::Time now = kT0 + absl::Minutes(2);
  ASSERT_OK_AND_ASSIGN(auto first, Claim(now, now + kLease, /*limit=*/1));
  EXPECT_THAT(IdsOf(first), ElementsAre(DeliveryId("a", "hartford-pd")));

  ASSERT_OK_AND_ASSIGN(stored, store().GetReferral(ReferralId("a")));
  ReferralChange calmer = ChangeOf(stored, kT0 + absl::Minutes(3));
  calmer.priority = v1::NORMAL;
  ASSERT_OK(store().ApplyReferralChange(calmer));
  EXPECT_EQ(MUST(store().GetDelivery(DeliveryId("a", "ncmec"))).priority, v1::NORMAL);
  ASSERT_OK_AND_ASSIGN(auto rest, Claim(now, now + kLease, /*limit=*/1));
  EXPECT_THAT(IdsOf(rest), ElementsAre(DeliveryId("earlier", "p1")));
}

}  // namespace
}  // namespace hart::conformance
