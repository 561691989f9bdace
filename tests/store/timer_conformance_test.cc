// The Store contract for durable timers and escalation ladders: claims
// under a lease, firing exactly once, and the global escalation sequence.
#include "tests/store/conformance_fixture.h"

namespace hart::conformance {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class TimerConformanceTest : public StoreConformanceTest {
 protected:
  // Referral "a" to hartford-pd with a ladder whose step 1 is due at kStep1.
  void CreateWithLadder() {
    NewReferral a = Referral("a");
    delivery_ = a.deliveries[0];
    step1_ = LadderTimer(delivery_, "tmr_a_1", 1, kStep1);
    a.timers.push_back(step1_);
    ASSERT_OK(Create(a));
  }
  // Claims the one timer due at `at`, as the timer runner does before it
  // fires a step (a step is applied under its claim's fencing value).
  TimerRecord ClaimOne(absl::Time at) {
    auto claimed = ClaimTimers(at, at + absl::Minutes(1));
    EXPECT_TRUE(claimed.ok()) << claimed.status();
    EXPECT_EQ(claimed.ok() ? claimed->size() : 0u, 1u);
    return claimed.ok() && claimed->size() == 1 ? (*claimed)[0] : TimerRecord{};
  }
  const absl::Time kStep1 = kT0 + absl::Hours(4);
  DeliveryRecord delivery_;
  TimerRecord step1_;
};
HART_STORE_CONFORMANCE_SUITE(TimerConformanceTest);

std::vector<std::string> IdsOf(const std::vector<TimerRecord>& timers) {
  std::vector<std::string> ids;
  for (const auto& t : timers) ids.push_back(t.timer_id);
  return ids;
}

// Verifies a due timer goes to one claimer per lease: not before it is due,
// not twice while leased, and again once the lease expired.
TEST_P(TimerConformanceTest, ADueTimerIsClaimedOncePerLease) {
  ASSERT_NO_FATAL_FAILURE(CreateWithLadder());
  const absl::Duration lease = absl::Minutes(1);
  EXPECT_THAT(MUST(ClaimTimers(kStep1 - absl::Seconds(1), kStep1 + lease)), IsEmpty());
  ASSERT_OK_AND_ASSIGN(auto first, ClaimTimers(kStep1, kStep1 + lease));
  EXPECT_THAT(IdsOf(first), ElementsAre("tmr_a_1"));
  EXPECT_THAT(MUST(ClaimTimers(kStep1, kStep1 + lease)), IsEmpty());
  EXPECT_THAT(MUST(ClaimTimers(kStep1 + lease - absl::Seconds(1), kStep1 + absl::Hours(1))),
              IsEmpty());
  ASSERT_OK_AND_ASSIGN(auto again,
                       ClaimTimers(kStep1 + lease + absl::Seconds(1), kStep1 + absl::Hours(1)));
  EXPECT_THAT(IdsOf(again), ElementsAre("tmr_a_1"));
}

TEST_P(TimerConformanceTest, ClaimedTimersRoundTripTheirFieldsEarliestFirst) {
  NewReferral a = Referral("a");
  a.timers.push_back(LadderTimer(a.deliveries[0], "tmr_ladder", 2, kT0 + absl::Hours(2)));
  a.timers.push_back(RerouteTimer(ReferralId("a"), "tmr_reroute", kT0 + absl::Hours(1)));
  ASSERT_OK(Create(a));
  ASSERT_OK_AND_ASSIGN(auto pending, store().PendingTimers(ReferralId("a")));
  EXPECT_THAT(IdsOf(pending), ElementsAre("tmr_reroute", "tmr_ladder"));
  ASSERT_OK_AND_ASSIGN(auto claimed, ClaimTimers(kT0 + absl::Hours(3), kT0 + absl::Hours(4)));
  ASSERT_THAT(IdsOf(claimed), ElementsAre("tmr_reroute", "tmr_ladder"));
  for (size_t i = 0; i < 2; ++i) {
    const TimerRecord& want = a.timers[1 - i];
    const TimerRecord& got = claimed[i];
    EXPECT_EQ(got.referral_id, want.referral_id);
    EXPECT_EQ(got.due_at, want.due_at);
    EXPECT_EQ(got.rule_ids, want.rule_ids);
    EXPECT_EQ(got.kind, want.kind);
    EXPECT_EQ(got.delivery_id, want.delivery_id);
    EXPECT_EQ(got.step, want.step);
    EXPECT_EQ(got.base_at, want.base_at);
    EXPECT_EQ(got.reason, want.reason);
  }
}

TEST_P(TimerConformanceTest, ClaimTimersTakesAtMostTheLimit) {
  NewReferral a = Referral("a");
  for (int i = 0; i < 3; ++i) {
    a.timers.push_back(
        RerouteTimer(ReferralId("a"), "tmr_" + std::to_string(i), kT0 + absl::Minutes(i)));
  }
  ASSERT_OK(Create(a));
  const absl::Time now = kT0 + absl::Hours(1);
  EXPECT_THAT(IdsOf(MUST(ClaimTimers(now, now + absl::Minutes(1), 2))),
              ElementsAre("tmr_0", "tmr_1"));
  EXPECT_THAT(IdsOf(MUST(ClaimTimers(now, now + absl::Minutes(1), 2))), ElementsAre("tmr_2"));
}

TEST_P(TimerConformanceTest, ReleaseClaimsReleasesTimerClaims) {
  ASSERT_NO_FATAL_FAILURE(CreateWithLadder());
  ASSERT_OK_AND_ASSIGN(auto first, ClaimTimers(kStep1, kStep1 + absl::Hours(1)));
  ASSERT_EQ(first.size(), 1u);
  ASSERT_OK(store().ReleaseClaims(kStep1));
  EXPECT_THAT(IdsOf(MUST(ClaimTimers(kStep1, kStep1 + absl::Hours(1)))), ElementsAre("tmr_a_1"));
}

TEST_P(TimerConformanceTest, NextDueTimeCountsTimersAndTheirLeases) {
  NewReferral a = Referral("a", {"hartford-pd"}, kT0 + absl::Hours(10));
  a.timers.push_back(RerouteTimer(ReferralId("a"), "tmr_a", kT0 + absl::Hours(5)));
  ASSERT_OK(Create(a));
  EXPECT_EQ(store().NextDueTime({}).value_or(std::nullopt), kT0 + absl::Hours(5));
  const absl::Time now = kT0 + absl::Hours(5);
  ASSERT_OK_AND_ASSIGN(auto claimed, ClaimTimers(now, now + absl::Minutes(1)));
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(store().NextDueTime({}).value_or(std::nullopt), now + absl::Minutes(1));
}

// A REFERRAL delivery's step 1, written with it, is where a backend may keep
// it in the delivery row until due (broker/store/ladder_starts.h): the
// following hold wherever it is kept.

// Verifies step 1 of a new delivery's ladder is a pending timer: read back
// with every field, counted by NextDueTime, claimed when due (and not
// before), earliest first within the claim's limit, and kept across a
// restart.
TEST_P(TimerConformanceTest, AStepOneLadderTimerIsPendingUntilClaimedAndSurvivesARestart) {
  std::vector<TimerRecord> steps;
  for (int i = 0; i < 3; ++i) {
    const std::string key = "r" + std::to_string(i);
    NewReferral r = Referral(key);
    steps.push_back(LadderTimer(r.deliveries[0], "tmr_" + key, 1, kStep1 - absl::Minutes(i)));
    r.timers.push_back(steps.back());
    ASSERT_OK(Create(r));
  }
  ASSERT_OK(ClaimAndAppend(kT0));  // the deliveries themselves are no longer due
  ASSERT_OK_AND_ASSIGN(auto pending, store().PendingTimers(ReferralId("r1")));
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].timer_id, "tmr_r1");
  EXPECT_EQ(pending[0].kind, TimerRecord::Kind::kLadder);
  EXPECT_EQ(pending[0].delivery_id, steps[1].delivery_id);
  EXPECT_EQ(pending[0].step, 1u);
  EXPECT_EQ(pending[0].due_at, steps[1].due_at);
  EXPECT_EQ(pending[0].base_at, steps[1].base_at);
  EXPECT_EQ(pending[0].reason, steps[1].reason);
  EXPECT_EQ(store().NextDueTime({}).value_or(std::nullopt), kStep1 - absl::Minutes(2));
  ASSERT_OK(Reopen());

  EXPECT_THAT(MUST(ClaimTimers(kStep1 - absl::Minutes(3), kStep1)), IsEmpty());
  ASSERT_OK_AND_ASSIGN(auto first, ClaimTimers(kStep1, kStep1 + absl::Minutes(1), 2));
  EXPECT_THAT(IdsOf(first), ElementsAre("tmr_r2", "tmr_r1"));
  for (const TimerRecord& t : first) {
    EXPECT_EQ(t.lease, 1u);
    EXPECT_EQ(t.step, 1u);
    EXPECT_EQ(t.kind, TimerRecord::Kind::kLadder);
  }
  EXPECT_EQ(first[1].base_at, steps[1].base_at);
  EXPECT_EQ(first[1].reason, steps[1].reason);
  // The one left over, and the claimed ones stay pending under their lease.
  EXPECT_THAT(IdsOf(MUST(ClaimTimers(kStep1, kStep1 + absl::Minutes(1), 2))),
              ElementsAre("tmr_r0"));
  EXPECT_THAT(IdsOf(MUST(store().PendingTimers(ReferralId("r2")))), ElementsAre("tmr_r2"));
  EXPECT_EQ(store().NextDueTime({}).value_or(std::nullopt), kStep1 + absl::Minutes(1));
}

// Verifies an ACCEPTED ends step 1 everywhere: not pending, not due, never
// claimed.
TEST_P(TimerConformanceTest, AnAcceptedDeliverysStepOneIsNeverClaimedNorDue) {
  ASSERT_NO_FATAL_FAILURE(CreateWithLadder());
  ASSERT_OK(ClaimAndAppend(kT0));
  EXPECT_EQ(store().NextDueTime({}).value_or(std::nullopt), kStep1);
  ASSERT_OK(store().ApplyAck(Received(delivery_.delivery_id, kT0 + absl::Minutes(1))));
  ASSERT_OK(store().ApplyAck(Accepted(delivery_.delivery_id, v1::DELIVERED,
                                      kT0 + absl::Minutes(2))));
  EXPECT_THAT(MUST(store().PendingTimers(ReferralId("a"))), IsEmpty());
  EXPECT_EQ(store().NextDueTime({}).value_or(kT0), std::nullopt);
  EXPECT_THAT(MUST(ClaimTimers(kStep1 + absl::Hours(1), kStep1 + absl::Hours(2))), IsEmpty());
}

// Verifies a decline pulls step 1 forward with its new base and reason, a
// later trigger does not push it back, and the claim carries the new fields.
TEST_P(TimerConformanceTest, ADeclinedDeliverysStepOneIsClaimedAtItsTriggerWithItsReason) {
  ASSERT_NO_FATAL_FAILURE(CreateWithLadder());
  ASSERT_OK(ClaimAndAppend(kT0));
  const absl::Time declined_at = kT0 + absl::Minutes(10);
  AckWrite declined = Ack(delivery_.delivery_id, v1::Acknowledgement::DECLINED, v1::IN_FLIGHT,
                          v1::DECLINED, declined_at);
  declined.ladder = LadderTrigger{declined_at, declined_at, v1::DECLINED_BY_AGENCY};
  ASSERT_OK(store().ApplyAck(declined));
  EXPECT_EQ(store().NextDueTime({}).value_or(std::nullopt), declined_at);
  ASSERT_OK_AND_ASSIGN(auto claimed, ClaimTimers(declined_at, declined_at + absl::Minutes(1)));
  ASSERT_THAT(IdsOf(claimed), ElementsAre("tmr_a_1"));
  EXPECT_EQ(claimed[0].due_at, declined_at);
  EXPECT_EQ(claimed[0].base_at, declined_at);
  EXPECT_EQ(claimed[0].reason, v1::DECLINED_BY_AGENCY);
  EXPECT_EQ(claimed[0].delivery_id, delivery_.delivery_id);
  EXPECT_EQ(claimed[0].lease, 1u);
}

// Verifies a trigger later than step 1's due time leaves it where it is.
TEST_P(TimerConformanceTest, ALaterTriggerDoesNotPushStepOneBack) {
  ASSERT_NO_FATAL_FAILURE(CreateWithLadder());
  ASSERT_OK(ClaimAndAppend(kT0));
  const absl::Time late = kStep1 + absl::Hours(1);
  AckWrite declined = Ack(delivery_.delivery_id, v1::Acknowledgement::DECLINED, v1::IN_FLIGHT,
                          v1::DECLINED, kT0 + absl::Minutes(10));
  declined.ladder = LadderTrigger{late, late, v1::DECLINED_BY_AGENCY};
  ASSERT_OK(store().ApplyAck(declined));
  ASSERT_OK_AND_ASSIGN(auto pending, store().PendingTimers(ReferralId("a")));
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].due_at, kStep1);
  EXPECT_EQ(pending[0].reason, step1_.reason);
}

// Verifies a ladder step fires once: the timer is marked fired, its notices,
// event and next step are stored; a second application of the same timer is
// FAILED_PRECONDITION and writes nothing.
TEST_P(TimerConformanceTest, AnEscalationStepAppliesOnceAndThenWritesNothing) {
  ASSERT_NO_FATAL_FAILURE(CreateWithLadder());
  const TimerRecord claimed = ClaimOne(kStep1);
  ASSERT_EQ(claimed.timer_id, "tmr_a_1");
  const TimerRecord step2 = LadderTimer(delivery_, "tmr_a_2", 2, kStep1 + absl::Hours(4));
  const EscalationWrite write = EscalationStep(claimed, delivery_, kStep1, "dlv_notice_1", step2);
  ASSERT_OK_AND_ASSIGN(auto sequence, store().ApplyEscalationStep(write));
  EXPECT_GT(sequence, 0u);
  EXPECT_THAT(IdsOf(MUST(store().PendingTimers(ReferralId("a")))), ElementsAre("tmr_a_2"));
  ASSERT_OK_AND_ASSIGN(auto notice, store().GetDelivery("dlv_notice_1"));
  EXPECT_EQ(notice.kind, v1::ESCALATION);
  EXPECT_EQ(notice.state, v1::PENDING);
  ASSERT_TRUE(notice.escalation.has_value());
  EXPECT_EQ(notice.escalation->escalated_delivery_id(), delivery_.delivery_id);
  EXPECT_EQ(notice.escalation->target(), v1::REGIONAL_HART_LEAD);

  ASSERT_OK_AND_ASSIGN(auto head, store().AuditHead());
  const TimerRecord other_next =
      LadderTimer(delivery_, "tmr_a_2_again", 2, kStep1 + absl::Hours(4));
  const EscalationWrite again =
      EscalationStep(claimed, delivery_, kStep1, "dlv_notice_again", other_next);
  EXPECT_EQ(STATUS_CODE(store().ApplyEscalationStep(again)), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(MUST(store().AuditHead()).size, head.size);
  EXPECT_EQ(STATUS_CODE(store().GetDelivery("dlv_notice_again")), absl::StatusCode::kNotFound);
  EXPECT_THAT(IdsOf(MUST(store().PendingTimers(ReferralId("a")))), ElementsAre("tmr_a_2"));
  EXPECT_EQ(MUST(store().ReadEscalations(0, 100)).size(), 1u);
}

TEST_P(TimerConformanceTest, EscalationEventsGetIncreasingSequencesAndRoundTrip) {
  NewReferral a = Referral("a", {"hartford-pd", "dcf-careline"});
  const DeliveryRecord police = a.deliveries[0];
  const DeliveryRecord dcf = a.deliveries[1];
  const TimerRecord police1 = LadderTimer(police, "tmr_p1", 1, kT0 + absl::Hours(1));
  const TimerRecord dcf1 = LadderTimer(dcf, "tmr_d1", 1, kT0 + absl::Hours(1));
  const TimerRecord police2 = LadderTimer(police, "tmr_p2", 2, kT0 + absl::Hours(2));
  a.timers = {police1, dcf1};
  ASSERT_OK(Create(a));
  ASSERT_OK_AND_ASSIGN(auto first_steps,
                       ClaimTimers(kT0 + absl::Hours(1), kT0 + absl::Hours(1) + absl::Minutes(1)));
  ASSERT_EQ(first_steps.size(), 2u);
  const TimerRecord& police1_claimed = first_steps[0].timer_id == "tmr_p1" ? first_steps[0]
                                                                           : first_steps[1];
  const TimerRecord& dcf1_claimed = first_steps[0].timer_id == "tmr_d1" ? first_steps[0]
                                                                        : first_steps[1];
  ASSERT_OK_AND_ASSIGN(auto s1, store().ApplyEscalationStep(EscalationStep(
                                    police1_claimed, police, kT0 + absl::Hours(1), "dlv_n1",
                                    police2)));
  ASSERT_OK_AND_ASSIGN(auto s2, store().ApplyEscalationStep(EscalationStep(
                                    dcf1_claimed, dcf, kT0 + absl::Hours(1), "", std::nullopt)));
  const TimerRecord police2_claimed = ClaimOne(kT0 + absl::Hours(2));
  ASSERT_EQ(police2_claimed.timer_id, "tmr_p2");
  ASSERT_OK_AND_ASSIGN(
      auto s3, store().ApplyEscalationStep(EscalationStep(
                   police2_claimed, police, kT0 + absl::Hours(2), "dlv_n2", std::nullopt)));
  EXPECT_LT(s1, s2);
  EXPECT_LT(s2, s3);

  ASSERT_OK_AND_ASSIGN(auto all, store().ReadEscalations(0, 100));
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].sequence, s1);
  EXPECT_EQ(all[1].sequence, s2);
  EXPECT_EQ(all[2].sequence, s3);
  const EscalationRecord& first = all[0];
  EXPECT_EQ(first.at, kT0 + absl::Hours(1));
  EXPECT_EQ(first.referral_id, ReferralId("a"));
  EXPECT_EQ(first.delivery_id, police.delivery_id);
  EXPECT_EQ(first.agency_id, police.agency_id);
  EXPECT_EQ(first.reason, v1::ACK_DEADLINE_MISSED);
  EXPECT_EQ(first.step, 1u);
  EXPECT_THAT(first.targets, ElementsAre(v1::RENOTIFY_AGENCY, v1::AGENCY_BACKUP_CONTACT));
  EXPECT_THAT(first.notice_delivery_ids, ElementsAre("dlv_n1"));
  EXPECT_THAT(first.notified_agency_ids, ElementsAre("hart-lead-north"));

  ASSERT_OK_AND_ASSIGN(auto after_first, store().ReadEscalations(s1, 100));
  ASSERT_EQ(after_first.size(), 2u);
  EXPECT_EQ(after_first[0].sequence, s2);
  ASSERT_OK_AND_ASSIGN(auto limited, store().ReadEscalations(0, 1));
  ASSERT_EQ(limited.size(), 1u);
  EXPECT_EQ(limited[0].sequence, s1);
  ASSERT_OK_AND_ASSIGN(auto of_police, store().EscalationsOf(police.delivery_id));
  ASSERT_EQ(of_police.size(), 2u);
  EXPECT_EQ(of_police[0].sequence, s1);
  EXPECT_EQ(of_police[1].sequence, s3);
}

TEST_P(TimerConformanceTest, ALadderThatEndsQuietlyFiresItsTimerWithoutAnEvent) {
  ASSERT_NO_FATAL_FAILURE(CreateWithLadder());
  const TimerRecord claimed = ClaimOne(kStep1);
  EscalationWrite quiet;
  quiet.fired_timer_id = claimed.timer_id;
  quiet.fired_timer_lease = claimed.lease;
  ASSERT_OK_AND_ASSIGN(auto sequence, store().ApplyEscalationStep(quiet));
  EXPECT_EQ(sequence, 0u);
  EXPECT_THAT(MUST(store().PendingTimers(ReferralId("a"))), IsEmpty());
  EXPECT_THAT(MUST(store().ReadEscalations(0, 100)), IsEmpty());
}

}  // namespace
}  // namespace hart::conformance
