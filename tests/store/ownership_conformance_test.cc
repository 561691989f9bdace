// The Store contract for ownership: every claim names its broker and carries
// a fencing value (a delivery's attempt count, a timer's lease count); work
// finished under a stale claim changes nothing, and a broker gives back only
// its own claims. Also: the store's notion of "overdue" is IsOverdue.
#include <set>

#include "broker/overdue.h"
#include "tests/store/conformance_fixture.h"

namespace hart::conformance {
namespace {

class OwnershipConformanceTest : public StoreConformanceTest {};
HART_STORE_CONFORMANCE_SUITE(OwnershipConformanceTest);

const absl::Duration kLease = absl::Minutes(1);

TEST_P(OwnershipConformanceTest, AClaimNamesItsBrokerAndCarriesItsAttemptAsFencingValue) {
  ASSERT_OK(Reopen("broker-a"));
  ASSERT_OK(Create(Referral("a")));
  ASSERT_OK_AND_ASSIGN(auto claimed, Claim(kT0, kT0 + kLease));
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].claim_owner, "broker-a");
  EXPECT_EQ(claimed[0].attempts, 1u);
  ASSERT_OK_AND_ASSIGN(auto stored, store().GetDelivery(claimed[0].delivery_id));
  EXPECT_EQ(stored.claim_owner, "broker-a");
}

TEST_P(OwnershipConformanceTest, AnOutcomeUnderAStaleClaimChangesNothing) {
  ASSERT_OK(Create(Referral("a")));
  ASSERT_OK_AND_ASSIGN(auto first, Claim(kT0, kT0 + kLease));
  ASSERT_EQ(first.size(), 1u);
  // The first claimer stalls past its lease; the delivery is claimed again.
  ASSERT_OK_AND_ASSIGN(auto second, Claim(kT0 + 2 * kLease, kT0 + 3 * kLease));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].attempts, 2u);
  const AuditTreeHead before = MUST(store().AuditHead());
  // The stale claimer's answer arrives late: refused, nothing written.
  const DeliveryOutcome stale = Delivered(first[0], kT0 + 2 * kLease, "partner#1");
  ASSERT_OK(store().RecordOutcomes({&stale, 1}));
  ASSERT_OK_AND_ASSIGN(auto after_stale, store().GetDelivery(first[0].delivery_id));
  EXPECT_EQ(after_stale.state, v1::IN_FLIGHT);
  EXPECT_EQ(after_stale.attempts, 2u);
  EXPECT_TRUE(after_stale.transport_ref.empty());
  EXPECT_EQ(MUST(store().AuditHead()).size, before.size);
  // The current claim's answer applies.
  const DeliveryOutcome current = Delivered(second[0], kT0 + 2 * kLease, "partner#2");
  ASSERT_OK(store().RecordOutcomes({&current, 1}));
  ASSERT_OK_AND_ASSIGN(auto delivered, store().GetDelivery(first[0].delivery_id));
  EXPECT_EQ(delivered.state, v1::DELIVERED);
  EXPECT_EQ(delivered.transport_ref, "partner#2");
  EXPECT_EQ(MUST(store().AuditHead()).size, before.size + 1);
}

TEST_P(OwnershipConformanceTest, ABrokerReleasesOnlyItsOwnClaims) {
  ASSERT_OK(Create(Referral("a")));
  ASSERT_OK(Create(Referral("b")));
  ASSERT_OK(Reopen("broker-a"));
  ASSERT_OK_AND_ASSIGN(auto by_a, Claim(kT0, kT0 + absl::Hours(1), /*limit=*/1));
  ASSERT_EQ(by_a.size(), 1u);
  ASSERT_OK(Reopen("broker-b"));
  ASSERT_OK_AND_ASSIGN(auto by_b, Claim(kT0, kT0 + absl::Hours(1), /*limit=*/1));
  ASSERT_EQ(by_b.size(), 1u);
  ASSERT_NE(by_a[0].delivery_id, by_b[0].delivery_id);
  ASSERT_OK(store().ReleaseClaims(kT0 + absl::Seconds(1)));
  EXPECT_EQ(MUST(StateOf(by_b[0].delivery_id)), v1::PENDING);
  ASSERT_OK_AND_ASSIGN(auto still_a, store().GetDelivery(by_a[0].delivery_id));
  EXPECT_EQ(still_a.state, v1::IN_FLIGHT);
  EXPECT_EQ(still_a.claim_owner, "broker-a");
  // broker-a's claim is rescued by anyone once its lease expires.
  ASSERT_OK_AND_ASSIGN(auto rescued, Claim(kT0 + absl::Hours(2), kT0 + absl::Hours(3)));
  ASSERT_EQ(rescued.size(), 2u);
  for (const auto& d : rescued) EXPECT_EQ(d.claim_owner, "broker-b");
}

TEST_P(OwnershipConformanceTest, ALadderStepUnderAStaleTimerLeaseIsAbortedAndWritesNothing) {
  NewReferral a = Referral("a");
  const DeliveryRecord escalated = a.deliveries[0];
  a.timers.push_back(LadderTimer(escalated, "tmr_a_1", 1, kT0));
  ASSERT_OK(Create(a));
  ASSERT_OK_AND_ASSIGN(auto first, ClaimTimers(kT0, kT0 + kLease));
  ASSERT_EQ(first.size(), 1u);
  ASSERT_OK_AND_ASSIGN(auto second, ClaimTimers(kT0 + 2 * kLease, kT0 + 3 * kLease));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_GT(second[0].lease, first[0].lease);
  const AuditTreeHead before = MUST(store().AuditHead());
  auto stale = store().ApplyEscalationStep(
      EscalationStep(first[0], escalated, kT0 + 2 * kLease, "", std::nullopt));
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted) << stale.status();
  EXPECT_EQ(MUST(store().AuditHead()).size, before.size);
  EXPECT_TRUE(MUST(store().ReadEscalations(0, 10)).empty());
  EXPECT_EQ(MUST(store().PendingTimers(ReferralId("a"))).size(), 1u);
  ASSERT_OK(store().ApplyEscalationStep(
      EscalationStep(second[0], escalated, kT0 + 2 * kLease, "", std::nullopt)));
  EXPECT_TRUE(MUST(store().PendingTimers(ReferralId("a"))).empty());
}

// Verifies ListReferrals counts and filters overdue deliveries exactly as
// IsOverdue judges them, state by state and deadline by deadline.
TEST_P(OwnershipConformanceTest, TheStoresOverdueIsIsOverdue) {
  const absl::Time now = kT0 + absl::Hours(30);  // past delivery, before ack deadlines
  struct Case {
    std::string key;
    v1::DeliveryState state;
    absl::Time ack_deadline;
    v1::MessageKind kind;
  };
  const std::vector<Case> cases = {
      {"pending", v1::PENDING, kT0 + absl::Hours(72), v1::REFERRAL},
      {"delivered", v1::DELIVERED, kT0 + absl::Hours(72), v1::REFERRAL},
      {"late", v1::DELIVERED, kT0 + absl::Hours(1), v1::REFERRAL},
      {"accepted", v1::ACKNOWLEDGED, kT0 + absl::Hours(1), v1::REFERRAL},
      {"declined", v1::DECLINED, kT0 + absl::Hours(72), v1::REFERRAL},
      {"update", v1::PENDING, kT0 + absl::Hours(1), v1::UPDATE},
      {"dead", v1::DEAD, kT0 + absl::Hours(72), v1::REFERRAL},
  };
  for (const Case& c : cases) {
    NewReferral r = Referral(c.key);
    r.deliveries[0].state = c.state;
    r.deliveries[0].ack_deadline = c.ack_deadline;
    r.deliveries[0].kind = c.kind;
    ASSERT_OK(Create(r));
  }
  ReferralQuery all;
  all.limit = 100;
  all.overdue_at = now;
  ASSERT_OK_AND_ASSIGN(auto overdue_only, store().ListReferrals(all));
  std::set<std::string> listed;
  for (const auto& s : overdue_only) listed.insert(s.referral_id);
  for (const Case& c : cases) {
    ASSERT_OK_AND_ASSIGN(auto deliveries, store().GetDeliveries(ReferralId(c.key)));
    ASSERT_EQ(deliveries.size(), 1u);
    const bool expected = IsOverdue(deliveries[0].delivery, now);
    EXPECT_EQ(listed.contains(ReferralId(c.key)), expected) << c.key;
  }
  EXPECT_FALSE(listed.empty());
  EXPECT_LT(listed.size(), cases.size());
  for (const auto& s : overdue_only) EXPECT_EQ(s.overdue, 1u) << s.referral_id;
}

}  // namespace
}  // namespace hart::conformance
