// The Store contract for acknowledgements: a compare-and-set on the
// delivery's state, decided per item in a batch, with the ladder effects.
#include "broker/common/time_util.h"
#include "tests/store/conformance_fixture.h"

namespace hart::conformance {
namespace {

using ::testing::IsEmpty;

class AckConformanceTest : public StoreConformanceTest {
 protected:
  // Creates referral "a" to hartford-pd and puts it on the feed: IN_FLIGHT.
  void SendOne() {
    ASSERT_OK(Create(Referral("a")));
    ASSERT_OK(ClaimAndAppend(kT0));
    ASSERT_EQ(StateOf(kDelivery).value_or(v1::DELIVERY_STATE_UNSPECIFIED), v1::IN_FLIGHT);
  }
  const std::string kDelivery = DeliveryId("a", "hartford-pd");
};
HART_STORE_CONFORMANCE_SUITE(AckConformanceTest);

TEST_P(AckConformanceTest, AnAckInTheExpectedStateAppliesAndReturnsItsAuditIndex) {
  ASSERT_NO_FATAL_FAILURE(SendOne());
  ASSERT_OK_AND_ASSIGN(auto head, store().AuditHead());
  const AckWrite received = Received(kDelivery, kT0 + absl::Seconds(4));
  ASSERT_OK_AND_ASSIGN(auto index, store().ApplyAck(received));
  EXPECT_EQ(index, head.size);
  EXPECT_EQ(MUST(store().AuditHead()).size, head.size + 1);
  ASSERT_OK_AND_ASSIGN(auto events, store().ListAuditEvents({.start_index = index, .limit = 1}));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, received.audit.action);

  ASSERT_OK_AND_ASSIGN(auto d, store().GetDelivery(kDelivery));
  EXPECT_EQ(d.state, v1::DELIVERED);
  EXPECT_EQ(d.delivered_at, kT0 + absl::Seconds(4));
  EXPECT_FALSE(d.acknowledged_at.has_value());
  ASSERT_OK_AND_ASSIGN(auto deliveries, store().GetDeliveries(ReferralId("a")));
  ASSERT_EQ(deliveries.size(), 1u);
  ASSERT_EQ(deliveries[0].acks.size(), 1u);
  EXPECT_EQ(deliveries[0].acks[0].kind(), v1::Acknowledgement::RECEIVED);
  EXPECT_EQ(deliveries[0].acks[0].actor(), "agency/hartford-pd");
  EXPECT_EQ(FromProtoTime(deliveries[0].acks[0].recorded_at()), kT0 + absl::Seconds(4));
}

TEST_P(AckConformanceTest, AnAckInAnotherStateIsAbortedAndWritesNothing) {
  ASSERT_OK(Create(Referral("a")));  // PENDING: never sent
  ASSERT_OK_AND_ASSIGN(auto head, store().AuditHead());
  EXPECT_EQ(STATUS_CODE(store().ApplyAck(Received(kDelivery, kT0))), absl::StatusCode::kAborted);
  ASSERT_OK_AND_ASSIGN(auto d, store().GetDelivery(kDelivery));
  EXPECT_EQ(d.state, v1::PENDING);
  EXPECT_FALSE(d.delivered_at.has_value());
  ASSERT_OK_AND_ASSIGN(auto deliveries, store().GetDeliveries(ReferralId("a")));
  EXPECT_THAT(deliveries.at(0).acks, IsEmpty());
  ASSERT_OK_AND_ASSIGN(auto after, store().AuditHead());
  EXPECT_EQ(after.size, head.size);
  EXPECT_EQ(after.root_hash, head.root_hash);
}

TEST_P(AckConformanceTest, AcceptedSetsAcknowledgedAtKeepsDeliveredAtAndStopsTheLadder) {
  NewReferral a = Referral("a");
  a.timers.push_back(LadderTimer(a.deliveries[0], "tmr_ladder_1", 1, kT0 + absl::Hours(72)));
  ASSERT_OK(Create(a));
  ASSERT_OK(ClaimAndAppend(kT0));
  ASSERT_OK(store().ApplyAck(Received(kDelivery, kT0 + absl::Minutes(1))));
  ASSERT_OK(store().ApplyAck(Accepted(kDelivery, v1::DELIVERED, kT0 + absl::Minutes(30))));
  ASSERT_OK_AND_ASSIGN(auto d, store().GetDelivery(kDelivery));
  EXPECT_EQ(d.state, v1::ACKNOWLEDGED);
  EXPECT_EQ(d.delivered_at, kT0 + absl::Minutes(1));
  EXPECT_EQ(d.acknowledged_at, kT0 + absl::Minutes(30));
  EXPECT_THAT(MUST(store().PendingTimers(ReferralId("a"))), IsEmpty());
  EXPECT_THAT(MUST(ClaimTimers(kT0 + absl::Hours(100), kT0 + absl::Hours(101))), IsEmpty());
}

TEST_P(AckConformanceTest, DeclinedKeepsItsNoteAndPullsTheLadderForward) {
  NewReferral a = Referral("a");
  a.timers.push_back(LadderTimer(a.deliveries[0], "tmr_ladder_1", 1, kT0 + absl::Hours(72)));
  ASSERT_OK(Create(a));
  ASSERT_OK(ClaimAndAppend(kT0));
  AckWrite declined = Ack(kDelivery, v1::Acknowledgement::DECLINED, v1::IN_FLIGHT, v1::DECLINED,
                          kT0 + absl::Minutes(10), kAckNote);
  declined.ladder =
      LadderTrigger{kT0 + absl::Minutes(10), kT0 + absl::Minutes(10), v1::DECLINED_BY_AGENCY};
  ASSERT_OK(store().ApplyAck(declined));
  ASSERT_OK_AND_ASSIGN(auto deliveries, store().GetDeliveries(ReferralId("a")));
  EXPECT_EQ(deliveries.at(0).delivery.state, v1::DECLINED);
  ASSERT_EQ(deliveries.at(0).acks.size(), 1u);
  EXPECT_EQ(deliveries.at(0).acks[0].note(), kAckNote);
  ASSERT_OK_AND_ASSIGN(auto timers, store().PendingTimers(ReferralId("a")));
  ASSERT_EQ(timers.size(), 1u);
  EXPECT_EQ(timers[0].due_at, kT0 + absl::Minutes(10));
  EXPECT_EQ(timers[0].reason, v1::DECLINED_BY_AGENCY);
}

// Verifies a batch decides each compare-and-set on its own: a lost one is
// ABORTED alone, the others apply.
TEST_P(AckConformanceTest, ApplyAcksDecidesEachItemOnItsOwn) {
  for (const char* key : {"a", "b", "c"}) ASSERT_OK(Create(Referral(key)));
  ASSERT_OK(ClaimAndAppend(kT0));
  ASSERT_OK_AND_ASSIGN(auto head, store().AuditHead());
  const std::vector<AckWrite> writes = {
      Received(DeliveryId("a", "hartford-pd"), kT0),
      Accepted(DeliveryId("b", "hartford-pd"), v1::DELIVERED, kT0),  // stale: it is IN_FLIGHT
      Received(DeliveryId("c", "hartford-pd"), kT0)};
  ASSERT_OK_AND_ASSIGN(auto results, store().ApplyAcks(writes));
  ASSERT_EQ(results.size(), 3u);
  ASSERT_OK(results[0]);
  EXPECT_EQ(STATUS_CODE(results[1]), absl::StatusCode::kAborted);
  ASSERT_OK(results[2]);
  EXPECT_LT(*results[0], *results[2]);
  EXPECT_GE(*results[0], head.size);
  EXPECT_EQ(MUST(store().AuditHead()).size, head.size + 2);
  EXPECT_EQ(StateOf(DeliveryId("a", "hartford-pd")).value_or(v1::DELIVERY_STATE_UNSPECIFIED),
            v1::DELIVERED);
  EXPECT_EQ(StateOf(DeliveryId("b", "hartford-pd")).value_or(v1::DELIVERY_STATE_UNSPECIFIED),
            v1::IN_FLIGHT);
  EXPECT_EQ(StateOf(DeliveryId("c", "hartford-pd")).value_or(v1::DELIVERY_STATE_UNSPECIFIED),
            v1::DELIVERED);
  EXPECT_THAT(MUST(store().GetDeliveries(ReferralId("b"))).at(0).acks, IsEmpty());
}

// Verifies items of one batch see the earlier items: two acks expecting the
// same state of one delivery cannot both win.
TEST_P(AckConformanceTest, TwoAcksOfOneDeliveryInOneBatchCannotBothWin) {
  ASSERT_NO_FATAL_FAILURE(SendOne());
  const std::vector<AckWrite> writes = {Received(kDelivery, kT0),
                                        Accepted(kDelivery, v1::IN_FLIGHT, kT0)};
  ASSERT_OK_AND_ASSIGN(auto results, store().ApplyAcks(writes));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_OK(results[0]);
  EXPECT_EQ(STATUS_CODE(results[1]), absl::StatusCode::kAborted);
  EXPECT_EQ(StateOf(kDelivery).value_or(v1::DELIVERY_STATE_UNSPECIFIED), v1::DELIVERED);
}

// The same through the writer queue's batches (ApplyWrites), where
// PostgreSQL sends a batch's acks without waiting for each: the lost one is
// still refused alone, and acks of other deliveries in the batch apply.
TEST_P(AckConformanceTest, AcksOfOneWriteBatchAreDecidedInTurn) {
  ASSERT_OK(Create(Referral("a", {"p1", "p2"})));
  ASSERT_OK(ClaimAndAppend(kT0));
  const std::string p1 = DeliveryId("a", "p1");
  const std::string p2 = DeliveryId("a", "p2");
  ASSERT_OK_AND_ASSIGN(auto head, store().AuditHead());
  std::vector<WriteRequest> batch = {Received(p1, kT0), Accepted(p1, v1::IN_FLIGHT, kT0),
                                           Accepted(p2, v1::IN_FLIGHT, kT0),
                                           Accepted(p1, v1::DELIVERED, kT0)};
  ASSERT_OK_AND_ASSIGN(auto results, store().ApplyWrites(batch));
  ASSERT_EQ(results.size(), 4u);
  EXPECT_OK(results[0]);
  EXPECT_EQ(STATUS_CODE(results[1]), absl::StatusCode::kAborted);
  EXPECT_OK(results[2]);
  EXPECT_OK(results[3]);
  EXPECT_EQ(StateOf(p1).value_or(v1::DELIVERY_STATE_UNSPECIFIED), v1::ACKNOWLEDGED);
  EXPECT_EQ(StateOf(p2).value_or(v1::DELIVERY_STATE_UNSPECIFIED), v1::ACKNOWLEDGED);
  EXPECT_EQ(MUST(store().AuditHead()).size, head.size + 3);
}

// A write batch of many acks (PostgreSQL sends up to 64 in one statement):
// each keeps its own time, kind and note, and a delivery's second ack
// follows its first: the first half of the batch alternates RECEIVED and
// ACCEPTED of one delivery (each ACCEPTED finds its RECEIVED waiting), the
// second half has every RECEIVED first (more than 64 acks wait at once).
TEST_P(AckConformanceTest, ManyAcksOfOneWriteBatchEachApplyWithTheirOwnFields) {
  constexpr int kReferrals = 80;
  std::vector<std::string> ids;
  for (int i = 0; i < kReferrals; ++i) {
    const std::string key = "r" + std::to_string(i);
    ASSERT_OK(Create(Referral(key)));
    ids.push_back(DeliveryId(key, "hartford-pd"));
  }
  ASSERT_OK(ClaimAndAppend(kT0));
  ASSERT_OK_AND_ASSIGN(auto head, store().AuditHead());
  auto received_at = [](int i) { return kT0 + absl::Seconds(i + 1); };
  auto accepted_at = [](int i) { return kT0 + absl::Minutes(10) + absl::Seconds(i); };
  auto note = [](int i) { return i % 3 == 0 ? "note " + std::to_string(i) : std::string(); };
  auto accepted = [&](int i) {
    return Ack(ids[i], v1::Acknowledgement::ACCEPTED, v1::DELIVERED, v1::ACKNOWLEDGED,
               accepted_at(i), note(i));
  };
  std::vector<WriteRequest> batch;
  constexpr int kPaired = 10;
  for (int i = 0; i < kPaired; ++i) {
    batch.push_back(Received(ids[i], received_at(i)));
    batch.push_back(accepted(i));
  }
  for (int i = kPaired; i < kReferrals; ++i) batch.push_back(Received(ids[i], received_at(i)));
  for (int i = kPaired; i < kReferrals; ++i) batch.push_back(accepted(i));
  ASSERT_OK_AND_ASSIGN(auto results, store().ApplyWrites(batch));
  ASSERT_EQ(results.size(), batch.size());
  for (const auto& result : results) EXPECT_OK(result);
  EXPECT_EQ(MUST(store().AuditHead()).size, head.size + batch.size());
  for (int i = 0; i < kReferrals; ++i) {
    ASSERT_OK_AND_ASSIGN(auto deliveries, store().GetDeliveries(ReferralId("r" + std::to_string(i))));
    ASSERT_EQ(deliveries.size(), 1u);
    const DeliveryRecord& d = deliveries[0].delivery;
    EXPECT_EQ(d.state, v1::ACKNOWLEDGED) << i;
    EXPECT_EQ(d.delivered_at, received_at(i)) << i;
    EXPECT_EQ(d.acknowledged_at, accepted_at(i)) << i;
    ASSERT_EQ(deliveries[0].acks.size(), 2u) << i;
    EXPECT_EQ(deliveries[0].acks[0].kind(), v1::Acknowledgement::RECEIVED) << i;
    EXPECT_EQ(FromProtoTime(deliveries[0].acks[0].recorded_at()), received_at(i)) << i;
    EXPECT_EQ(deliveries[0].acks[1].kind(), v1::Acknowledgement::ACCEPTED) << i;
    EXPECT_EQ(deliveries[0].acks[1].note(), note(i)) << i;
    EXPECT_EQ(deliveries[0].acks[1].actor(), "agency/hartford-pd") << i;
  }
}

// Through a write batch too, ACCEPTED ends ladder timers already in the
// timers table (a later step here), not only a start held in the row.
TEST_P(AckConformanceTest, AcceptedInAWriteBatchEndsLadderTimersInTheTable) {
  NewReferral a = Referral("a");
  a.timers.push_back(LadderTimer(a.deliveries[0], "tmr_ladder_1", 1, kT0 + absl::Hours(72)));
  a.timers.push_back(LadderTimer(a.deliveries[0], "tmr_ladder_2", 2, kT0 + absl::Hours(96)));
  ASSERT_OK(Create(a));
  ASSERT_OK(ClaimAndAppend(kT0));
  ASSERT_EQ(MUST(store().PendingTimers(ReferralId("a"))).size(), 2u);
  std::vector<WriteRequest> batch = {Received(kDelivery, kT0 + absl::Minutes(1)),
                                     Accepted(kDelivery, v1::DELIVERED, kT0 + absl::Minutes(2))};
  ASSERT_OK_AND_ASSIGN(auto results, store().ApplyWrites(batch));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_OK(results[0]);
  EXPECT_OK(results[1]);
  EXPECT_EQ(StateOf(kDelivery).value_or(v1::DELIVERY_STATE_UNSPECIFIED), v1::ACKNOWLEDGED);
  EXPECT_THAT(MUST(store().PendingTimers(ReferralId("a"))), IsEmpty());
  EXPECT_THAT(MUST(ClaimTimers(kT0 + absl::Hours(100), kT0 + absl::Hours(101))), IsEmpty());
}

// An ACCEPTED whose compare-and-set lost (the delivery was never marked
// DELIVERED) stops nothing: the ladder still runs, alone or in a batch.
TEST_P(AckConformanceTest, AnAcceptedAckThatLostItsCompareAndSetLeavesTheLadderRunning) {
  // Two steps: the first is held in the delivery's row, the second is a
  // row of the timers table (the statement's ladder stop ends those).
  NewReferral a = Referral("a");
  a.timers.push_back(LadderTimer(a.deliveries[0], "tmr_ladder_1", 1, kT0 + absl::Hours(72)));
  a.timers.push_back(LadderTimer(a.deliveries[0], "tmr_ladder_2", 2, kT0 + absl::Hours(96)));
  ASSERT_OK(Create(a));
  ASSERT_OK(ClaimAndAppend(kT0));  // IN_FLIGHT
  ASSERT_EQ(MUST(store().PendingTimers(ReferralId("a"))).size(), 2u);
  EXPECT_EQ(STATUS_CODE(store().ApplyAck(Accepted(kDelivery, v1::DELIVERED,
                                                  kT0 + absl::Minutes(2)))),
            absl::StatusCode::kAborted);
  std::vector<WriteRequest> batch = {Accepted(kDelivery, v1::DELIVERED, kT0 + absl::Minutes(3))};
  ASSERT_OK_AND_ASSIGN(auto results, store().ApplyWrites(batch));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(STATUS_CODE(results[0]), absl::StatusCode::kAborted);
  EXPECT_EQ(StateOf(kDelivery).value_or(v1::DELIVERY_STATE_UNSPECIFIED), v1::IN_FLIGHT);
  EXPECT_EQ(MUST(store().PendingTimers(ReferralId("a"))).size(), 2u);
}

}  // namespace
}  // namespace hart::conformance
