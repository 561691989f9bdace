// The Store contract for the outbox: claiming due deliveries under a lease,
// recording attempt outcomes, releasing claims, and when work is next due.
#include <set>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "tests/store/conformance_fixture.h"

namespace hart::conformance {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class OutboxConformanceTest : public StoreConformanceTest {};
HART_STORE_CONFORMANCE_SUITE(OutboxConformanceTest);

const absl::Duration kLease = absl::Minutes(1);

TEST_P(OutboxConformanceTest, ClaimsOnlyDeliveriesDueAtNow) {
  ASSERT_OK(Create(Referral("now", {"hartford-pd"}, kT0)));
  ASSERT_OK(Create(Referral("soon", {"hartford-pd"}, kT0 + absl::Minutes(5))));
  ASSERT_OK(Create(Referral("later", {"hartford-pd"}, kT0 + absl::Hours(1))));
  ASSERT_OK_AND_ASSIGN(auto early, Claim(kT0 - absl::Seconds(1), kT0 + kLease));
  EXPECT_THAT(early, IsEmpty());
  ASSERT_OK_AND_ASSIGN(auto at_t0, Claim(kT0, kT0 + absl::Hours(2)));
  EXPECT_THAT(IdsOf(at_t0), ElementsAre(DeliveryId("now", "hartford-pd")));
  ASSERT_OK_AND_ASSIGN(auto at_5m, Claim(kT0 + absl::Minutes(5), kT0 + absl::Minutes(6)));
  EXPECT_THAT(IdsOf(at_5m), ElementsAre(DeliveryId("soon", "hartford-pd")));
}

TEST_P(OutboxConformanceTest, ClaimTakesAtMostTheLimit) {
  ASSERT_OK(Create(Referral("a", {"p1", "p2", "p3", "p4", "p5"})));
  std::set<std::string> claimed;
  for (size_t expected : {2u, 2u, 1u, 0u}) {
    ASSERT_OK_AND_ASSIGN(auto batch, Claim(kT0, kT0 + kLease, /*limit=*/2));
    EXPECT_EQ(batch.size(), expected);
    for (const auto& d : batch) EXPECT_TRUE(claimed.insert(d.delivery_id).second) << d.delivery_id;
  }
  EXPECT_EQ(claimed.size(), 5u);
}

TEST_P(OutboxConformanceTest, AClaimIsInFlightWithOneMoreAttemptAndALease) {
  ASSERT_OK(Create(Referral("a")));
  ASSERT_OK_AND_ASSIGN(auto claimed, Claim(kT0, kT0 + kLease));
  ASSERT_EQ(claimed.size(), 1u);
  for (const DeliveryRecord& d : {claimed[0], MUST(store().GetDelivery(claimed[0].delivery_id))}) {
    EXPECT_EQ(d.state, v1::IN_FLIGHT);
    EXPECT_EQ(d.attempts, 1u);
    EXPECT_EQ(d.last_attempt_at, kT0);
    EXPECT_EQ(d.lease_until, kT0 + kLease);
    EXPECT_TRUE(d.transport_ref.empty());
  }
}

// Verifies a claim never handed off is taken by nobody while its lease
// runs, and by the next claimer once it expired (a crashed claimer).
// An AcknowledgeBatch reads its deliveries with one call: each id's answer
// in the order asked, as GetDelivery gives it, unknown ids NOT_FOUND alone.
TEST_P(OutboxConformanceTest, GetDeliveriesByIdsAnswersEachIdAsGetDeliveryInOrder) {
  ASSERT_OK(Create(Referral("a", {"hartford-pd", "csao"})));
  ASSERT_OK_AND_ASSIGN(auto claimed, Claim(kT0, kT0 + kLease, /*limit=*/1));
  ASSERT_EQ(claimed.size(), 1u);
  const std::string police = DeliveryId("a", "hartford-pd");
  const std::string csao = DeliveryId("a", "csao");
  const std::vector<std::string> ids = {csao, "dlv_unknown", police, csao};
  const auto deliveries = store().GetDeliveriesByIds(ids);
  ASSERT_EQ(deliveries.size(), ids.size());
  EXPECT_EQ(STATUS_CODE(deliveries[1]), absl::StatusCode::kNotFound);
  for (size_t i : {0u, 2u, 3u}) {
    ASSERT_OK(deliveries[i].status());
    ASSERT_OK_AND_ASSIGN(const DeliveryRecord one, store().GetDelivery(ids[i]));
    EXPECT_EQ(deliveries[i]->delivery_id, ids[i]);
    EXPECT_EQ(deliveries[i]->agency_id, one.agency_id);
    EXPECT_EQ(deliveries[i]->referral_id, one.referral_id);
    EXPECT_EQ(deliveries[i]->state, one.state);
    EXPECT_EQ(deliveries[i]->attempts, one.attempts);
  }
  // The claimed one is IN_FLIGHT, the other still PENDING: each row's own state.
  EXPECT_NE(deliveries[0]->state, deliveries[2]->state);
  EXPECT_TRUE(store().GetDeliveriesByIds({}).empty());
}

TEST_P(OutboxConformanceTest, AClaimIsClaimableAgainOnlyOnceItsLeaseExpired) {
  ASSERT_OK(Create(Referral("a")));
  ASSERT_OK_AND_ASSIGN(auto first, Claim(kT0, kT0 + kLease));
  ASSERT_EQ(first.size(), 1u);
  ASSERT_OK_AND_ASSIGN(auto during, Claim(kT0 + kLease - absl::Seconds(1), kT0 + absl::Hours(1)));
  EXPECT_THAT(during, IsEmpty());
  const absl::Time later = kT0 + kLease + absl::Seconds(1);
  ASSERT_OK_AND_ASSIGN(auto again, Claim(later, later + kLease));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].delivery_id, first[0].delivery_id);
  EXPECT_EQ(again[0].state, v1::IN_FLIGHT);
  EXPECT_EQ(again[0].attempts, 2u);
  EXPECT_EQ(again[0].last_attempt_at, later);
  EXPECT_EQ(again[0].lease_until, later + kLease);
}

TEST_P(OutboxConformanceTest, AClaimHandedOffIsNeverClaimedAgain) {
  ASSERT_OK(Create(Referral("a")));
  ASSERT_OK_AND_ASSIGN(auto appended, ClaimAndAppend(kT0));
  ASSERT_EQ(appended.size(), 1u);
  ASSERT_OK_AND_ASSIGN(auto much_later, Claim(kT0 + absl::Hours(48), kT0 + absl::Hours(49)));
  EXPECT_THAT(much_later, IsEmpty());
  ASSERT_OK_AND_ASSIGN(auto d, store().GetDelivery(DeliveryId("a", "hartford-pd")));
  EXPECT_EQ(d.state, v1::IN_FLIGHT);
  EXPECT_EQ(d.attempts, 1u);
  EXPECT_FALSE(d.transport_ref.empty());
}

TEST_P(OutboxConformanceTest, RetryLaterMakesTheDeliveryPendingAtItsNextAttempt) {
  ASSERT_OK(Create(Referral("a")));
  ASSERT_OK_AND_ASSIGN(auto claimed, Claim(kT0, kT0 + kLease));
  ASSERT_EQ(claimed.size(), 1u);
  ASSERT_OK_AND_ASSIGN(auto head, store().AuditHead());
  const DeliveryOutcome retry =
      RetryLater(claimed[0], kT0 + absl::Seconds(2), kT0 + absl::Minutes(5));
  ASSERT_OK(store().RecordOutcomes({&retry, 1}));

  ASSERT_OK_AND_ASSIGN(auto d, store().GetDelivery(claimed[0].delivery_id));
  EXPECT_EQ(d.state, v1::PENDING);
  EXPECT_EQ(d.next_attempt_at, kT0 + absl::Minutes(5));
  EXPECT_EQ(d.attempts, 1u);
  EXPECT_EQ(d.last_error, retry.error);
  EXPECT_FALSE(d.lease_until.has_value());
  EXPECT_EQ(MUST(store().AuditHead()).size, head.size + 1);

  EXPECT_THAT(MUST(Claim(kT0 + absl::Minutes(4), kT0 + absl::Minutes(5))), IsEmpty());
  ASSERT_OK_AND_ASSIGN(auto retried, Claim(kT0 + absl::Minutes(5), kT0 + absl::Minutes(6)));
  ASSERT_EQ(retried.size(), 1u);
  EXPECT_EQ(retried[0].attempts, 2u);
}

TEST_P(OutboxConformanceTest, AnAttemptThatNeverReachedThePartnerGivesItsAttemptBack) {
  ASSERT_OK(Create(Referral("a")));
  ASSERT_OK_AND_ASSIGN(auto claimed, Claim(kT0, kT0 + kLease));
  ASSERT_EQ(claimed.size(), 1u);
  DeliveryOutcome skipped = RetryLater(claimed[0], kT0, kT0 + absl::Minutes(1));
  skipped.attempted = false;  // e.g. the partner's circuit was open
  ASSERT_OK(store().RecordOutcomes({&skipped, 1}));
  ASSERT_OK_AND_ASSIGN(auto d, store().GetDelivery(claimed[0].delivery_id));
  EXPECT_EQ(d.state, v1::PENDING);
  EXPECT_EQ(d.attempts, 0u);
}

TEST_P(OutboxConformanceTest, DeliveredRecordsWhenAndWhereAndIsNeverClaimedAgain) {
  ASSERT_OK(Create(Referral("a")));
  ASSERT_OK_AND_ASSIGN(auto claimed, Claim(kT0, kT0 + kLease));
  ASSERT_EQ(claimed.size(), 1u);
  const DeliveryOutcome delivered =
      Delivered(claimed[0], kT0 + absl::Seconds(3), "smtp:<msg-1@hart.example>");
  ASSERT_OK(store().RecordOutcomes({&delivered, 1}));
  ASSERT_OK_AND_ASSIGN(auto d, store().GetDelivery(claimed[0].delivery_id));
  EXPECT_EQ(d.state, v1::DELIVERED);
  EXPECT_EQ(d.delivered_at, kT0 + absl::Seconds(3));
  EXPECT_EQ(d.transport_ref, "smtp:<msg-1@hart.example>");
  EXPECT_FALSE(d.lease_until.has_value());
  EXPECT_THAT(MUST(Claim(kT0 + absl::Hours(48), kT0 + absl::Hours(49))), IsEmpty());
}

// Verifies DEAD is final and pulls the delivery's escalation ladder forward.
TEST_P(OutboxConformanceTest, DeadIsFinalAndStartsTheLadderNow) {
  NewReferral a = Referral("a");
  a.timers.push_back(LadderTimer(a.deliveries[0], "tmr_ladder_1", 1, kT0 + absl::Hours(72)));
  ASSERT_OK(Create(a));
  ASSERT_OK_AND_ASSIGN(auto claimed, Claim(kT0, kT0 + kLease));
  ASSERT_EQ(claimed.size(), 1u);
  DeliveryOutcome dead = Dead(claimed[0], kT0 + absl::Seconds(5));
  dead.ladder = LadderTrigger{kT0 + absl::Seconds(5), kT0 + absl::Seconds(5), v1::UNDELIVERABLE};
  ASSERT_OK(store().RecordOutcomes({&dead, 1}));

  ASSERT_OK_AND_ASSIGN(auto d, store().GetDelivery(claimed[0].delivery_id));
  EXPECT_EQ(d.state, v1::DEAD);
  EXPECT_EQ(d.last_error, dead.error);
  EXPECT_THAT(MUST(Claim(kT0 + absl::Hours(48), kT0 + absl::Hours(49))), IsEmpty());
  ASSERT_OK_AND_ASSIGN(auto timers, store().PendingTimers(ReferralId("a")));
  ASSERT_EQ(timers.size(), 1u);
  EXPECT_EQ(timers[0].due_at, kT0 + absl::Seconds(5));
  EXPECT_EQ(timers[0].base_at, kT0 + absl::Seconds(5));
  EXPECT_EQ(timers[0].reason, v1::UNDELIVERABLE);
}

// Verifies an outcome that arrives after the delivery moved on (acknowledged
// while the attempt ran) changes nothing and writes no audit event.
TEST_P(OutboxConformanceTest, AnOutcomeForADeliveryNoLongerInFlightChangesNothing) {
  ASSERT_OK(Create(Referral("a")));
  ASSERT_OK_AND_ASSIGN(auto claimed, Claim(kT0, kT0 + kLease));
  ASSERT_EQ(claimed.size(), 1u);
  ASSERT_OK(
      store().ApplyAck(Accepted(claimed[0].delivery_id, v1::IN_FLIGHT, kT0 + absl::Seconds(1))));
  ASSERT_OK_AND_ASSIGN(auto head, store().AuditHead());
  const DeliveryOutcome dead = Dead(claimed[0], kT0 + absl::Seconds(2));
  ASSERT_OK(store().RecordOutcomes({&dead, 1}));
  EXPECT_EQ(StateOf(claimed[0].delivery_id).value_or(v1::DELIVERY_STATE_UNSPECIFIED),
            v1::ACKNOWLEDGED);
  EXPECT_EQ(MUST(store().AuditHead()).size, head.size);
}

TEST_P(OutboxConformanceTest, OutcomesOfOneCallAreEachRecorded) {
  ASSERT_OK(Create(Referral("a", {"p1", "p2", "p3"})));
  ASSERT_OK_AND_ASSIGN(auto claimed, Claim(kT0, kT0 + kLease));
  ASSERT_EQ(claimed.size(), 3u);
  const std::vector<DeliveryOutcome> outcomes = {
      RetryLater(claimed[0], kT0, kT0 + absl::Minutes(1)), Delivered(claimed[1], kT0, "ref-2"),
      Dead(claimed[2], kT0)};
  ASSERT_OK(store().RecordOutcomes(outcomes));
  EXPECT_EQ(StateOf(claimed[0].delivery_id).value_or(v1::DELIVERY_STATE_UNSPECIFIED), v1::PENDING);
  EXPECT_EQ(StateOf(claimed[1].delivery_id).value_or(v1::DELIVERY_STATE_UNSPECIFIED),
            v1::DELIVERED);
  EXPECT_EQ(StateOf(claimed[2].delivery_id).value_or(v1::DELIVERY_STATE_UNSPECIFIED), v1::DEAD);
}

// Verifies one RecordOutcomes call (one statement on PostgreSQL) applies
// each outcome only to the claim it answers, keeps every character of the
// texts it stores, leaves a transport reference it does not replace, and
// applies only the first of two outcomes for one delivery.
TEST_P(OutboxConformanceTest, OutcomesOfOneCallAreDecidedEachAgainstItsOwnClaim) {
  ASSERT_OK(Create(Referral("a", {"p1", "p2", "p3", "p4"})));
  ASSERT_OK_AND_ASSIGN(auto claimed, Claim(kT0, kT0 + kLease));
  ASSERT_EQ(claimed.size(), 4u);
  // p4 is acknowledged while its attempt runs: its outcome must not apply.
  ASSERT_OK(
      store().ApplyAck(Accepted(claimed[3].delivery_id, v1::IN_FLIGHT, kT0 + absl::Seconds(1))));
  ASSERT_OK_AND_ASSIGN(auto head, store().AuditHead());
  DeliveryOutcome retry = RetryLater(claimed[0], kT0, kT0 + absl::Minutes(3));
  retry.error = R"(UNAVAILABLE: "quoted", back\slash, {braces}, comma, NULL)";
  const DeliveryOutcome delivered = Delivered(claimed[1], kT0, "ref-\"2\"");
  DeliveryOutcome stale = Dead(claimed[2], kT0);
  stale.attempt = claimed[2].attempts + 1;  // a claim since taken again
  const DeliveryOutcome too_late = Dead(claimed[3], kT0);
  const DeliveryOutcome second_for_p1 = Dead(claimed[0], kT0);
  ASSERT_OK(store().RecordOutcomes(
      std::vector<DeliveryOutcome>{retry, delivered, stale, too_late, second_for_p1}));

  ASSERT_OK_AND_ASSIGN(auto p1, store().GetDelivery(claimed[0].delivery_id));
  EXPECT_EQ(p1.state, v1::PENDING);
  EXPECT_EQ(p1.last_error, retry.error);
  EXPECT_EQ(p1.next_attempt_at, kT0 + absl::Minutes(3));
  ASSERT_OK_AND_ASSIGN(auto p2, store().GetDelivery(claimed[1].delivery_id));
  EXPECT_EQ(p2.state, v1::DELIVERED);
  EXPECT_EQ(p2.transport_ref, "ref-\"2\"");
  EXPECT_EQ(StateOf(claimed[2].delivery_id).value_or(v1::DELIVERY_STATE_UNSPECIFIED),
            v1::IN_FLIGHT);
  EXPECT_EQ(StateOf(claimed[3].delivery_id).value_or(v1::DELIVERY_STATE_UNSPECIFIED),
            v1::ACKNOWLEDGED);
  // One leaf each for the two that applied.
  EXPECT_EQ(MUST(store().AuditHead()).size, head.size + 2);
}

// Verifies ReleaseClaims gives back what a dead process claimed but never
// handed off (due now), and leaves handed-off deliveries alone.
TEST_P(OutboxConformanceTest, ReleaseClaimsMakesUnsentClaimsPendingDueNow) {
  ASSERT_OK(Create(Referral("a", {"unsent", "sent"})));
  ASSERT_OK_AND_ASSIGN(auto claimed, Claim(kT0, kT0 + absl::Hours(1)));
  ASSERT_EQ(claimed.size(), 2u);
  const DeliveryRecord& sent = claimed[0].agency_id == "sent" ? claimed[0] : claimed[1];
  const FeedAppend append = FeedAppendFor(sent);
  ASSERT_OK(store().AppendToFeeds({&append, 1}, kT0));

  const absl::Time restart = kT0 + absl::Minutes(2);
  ASSERT_OK(store().ReleaseClaims(restart));
  ASSERT_OK_AND_ASSIGN(auto unsent, store().GetDelivery(DeliveryId("a", "unsent")));
  EXPECT_EQ(unsent.state, v1::PENDING);
  EXPECT_EQ(unsent.next_attempt_at, restart);
  EXPECT_FALSE(unsent.lease_until.has_value());
  ASSERT_OK_AND_ASSIGN(auto handed_off, store().GetDelivery(DeliveryId("a", "sent")));
  EXPECT_EQ(handed_off.state, v1::IN_FLIGHT);
  EXPECT_FALSE(handed_off.transport_ref.empty());

  ASSERT_OK_AND_ASSIGN(auto reclaimed, Claim(restart, restart + kLease));
  EXPECT_THAT(IdsOf(reclaimed), ElementsAre(DeliveryId("a", "unsent")));
}

TEST_P(OutboxConformanceTest, AClaimSurvivesARestartUntilReleased) {
  ASSERT_OK(Create(Referral("a")));
  ASSERT_OK_AND_ASSIGN(auto claimed, Claim(kT0, kT0 + absl::Hours(1)));
  ASSERT_EQ(claimed.size(), 1u);
  ASSERT_OK(Reopen());
  EXPECT_THAT(MUST(Claim(kT0 + absl::Minutes(1), kT0 + absl::Hours(2))), IsEmpty());
  ASSERT_OK(store().ReleaseClaims(kT0 + absl::Minutes(1)));
  ASSERT_OK_AND_ASSIGN(auto reclaimed, Claim(kT0 + absl::Minutes(1), kT0 + absl::Hours(2)));
  ASSERT_EQ(reclaimed.size(), 1u);
  EXPECT_EQ(reclaimed[0].attempts, 2u);
}

// Verifies a held agency's PENDING deliveries are neither claimed nor due
// until its hold ends, and that their rows are left as they were.
TEST_P(OutboxConformanceTest, AHeldAgencysDeliveriesAreNeitherClaimedNorDueUntilTheHoldEnds) {
  ASSERT_OK(Create(Referral("a", {"ncmec", "hartford-pd"}, kT0)));
  ASSERT_OK(Create(Referral("b", {"ncmec"}, kT0 + absl::Minutes(1))));
  ASSERT_OK(Create(Referral("later", {"ncmec"}, kT0 + absl::Hours(2))));
  const absl::Time until = kT0 + absl::Hours(1);
  const std::vector<AgencyHold> holds = {{"ncmec", until}};
  auto claim = [&](absl::Time now) {
    return MUST(store().ClaimDueDeliveries(now, kT0 + absl::Hours(3), 10, holds));
  };

  EXPECT_EQ(store().NextDueTime(holds).value_or(std::nullopt), kT0);
  EXPECT_THAT(IdsOf(claim(kT0 + absl::Minutes(2))), ElementsAre(DeliveryId("a", "hartford-pd")));
  // Held: due at the hold's end (the claim's lease ends later), not before.
  EXPECT_EQ(store().NextDueTime(holds).value_or(std::nullopt), until);
  EXPECT_EQ(store().NextDueTime({}).value_or(std::nullopt), kT0);
  EXPECT_THAT(claim(until - absl::Seconds(1)), IsEmpty());
  EXPECT_EQ(MUST(store().GetDelivery(DeliveryId("b", "ncmec"))).next_attempt_at,
            kT0 + absl::Minutes(1));
  // A hold that has ended skips nothing: the backlog comes in due order.
  EXPECT_THAT(IdsOf(claim(until)),
              ElementsAre(DeliveryId("a", "ncmec"), DeliveryId("b", "ncmec")));
  EXPECT_EQ(store().NextDueTime(holds).value_or(std::nullopt), kT0 + absl::Hours(2));
}

// Verifies claims asked agency by agency (a hold in force elsewhere) keep
// the limit and the due order across agencies.
TEST_P(OutboxConformanceTest, ClaimsBesideAHoldKeepTheLimitAndTheDueOrder) {
  ASSERT_OK(Create(Referral("a", {"hartford-pd"}, kT0 + absl::Minutes(2))));
  ASSERT_OK(Create(Referral("b", {"ncmec"}, kT0 + absl::Minutes(1))));
  ASSERT_OK(Create(Referral("c", {"new-haven-pd"}, kT0 + absl::Minutes(3))));
  ASSERT_OK(Create(Referral("d", {"ncmec"}, kT0 + absl::Minutes(4))));
  const std::vector<AgencyHold> holds = {{"nobody", kT0 + absl::Hours(24)}};
  const absl::Time now = kT0 + absl::Minutes(10);
  ASSERT_OK_AND_ASSIGN(auto first, store().ClaimDueDeliveries(now, now + kLease, 3, holds));
  EXPECT_THAT(IdsOf(first), ElementsAre(DeliveryId("b", "ncmec"), DeliveryId("a", "hartford-pd"),
                                        DeliveryId("c", "new-haven-pd")));
  ASSERT_OK_AND_ASSIGN(auto rest, store().ClaimDueDeliveries(now, now + kLease, 3, holds));
  EXPECT_THAT(IdsOf(rest), ElementsAre(DeliveryId("d", "ncmec")));
}

TEST_P(OutboxConformanceTest, NextDueTimeIsEmptyWithNothingToDo) {
  ASSERT_OK_AND_ASSIGN(auto next, store().NextDueTime({}));
  EXPECT_FALSE(next.has_value());
}

// Verifies NextDueTime follows pending deliveries and the leases of unsent
// claims, and forgets deliveries that finished.
TEST_P(OutboxConformanceTest, NextDueTimeIsTheEarliestDueDeliveryOrExpiringClaim) {
  ASSERT_OK(Create(Referral("a", {"hartford-pd"}, kT0)));
  ASSERT_OK(Create(Referral("b", {"hartford-pd"}, kT0 + absl::Minutes(30))));
  EXPECT_EQ(store().NextDueTime({}).value_or(std::nullopt), kT0);
  ASSERT_OK_AND_ASSIGN(auto claimed, Claim(kT0, kT0 + kLease));
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(store().NextDueTime({}).value_or(std::nullopt), kT0 + kLease);
  const DeliveryOutcome delivered = Delivered(claimed[0], kT0, "ref-1");
  ASSERT_OK(store().RecordOutcomes({&delivered, 1}));
  EXPECT_EQ(store().NextDueTime({}).value_or(std::nullopt), kT0 + absl::Minutes(30));
}

// Verifies concurrent claimers (replicas, for a shared backend) never get
// the same delivery: every delivery is claimed exactly once.
TEST_P(OutboxConformanceTest, ConcurrentClaimersNeverShareADelivery) {
  std::vector<std::string> agencies;
  for (int i = 0; i < 10; ++i) agencies.push_back("p" + std::to_string(i));
  for (const char* key : {"a", "b", "c", "d"}) ASSERT_OK(Create(Referral(key, agencies)));
  absl::Mutex mu;
  std::vector<std::string> claimed;
  std::vector<absl::Status> errors;
  std::vector<std::thread> claimers;
  for (int t = 0; t < 4; ++t) {
    claimers.emplace_back([&] {
      for (;;) {
        auto batch = store().ClaimDueDeliveries(kT0, kT0 + absl::Hours(1), 3, {});
        absl::MutexLock lock(&mu);
        if (!batch.ok()) {
          errors.push_back(batch.status());
          return;
        }
        if (batch->empty()) return;
        for (const auto& d : *batch) claimed.push_back(d.delivery_id);
      }
    });
  }
  for (auto& t : claimers) t.join();
  EXPECT_THAT(errors, IsEmpty());
  const std::set<std::string> distinct(claimed.begin(), claimed.end());
  EXPECT_EQ(claimed.size(), 40u);
  EXPECT_EQ(distinct.size(), claimed.size());
}

}  // namespace
}  // namespace hart::conformance
