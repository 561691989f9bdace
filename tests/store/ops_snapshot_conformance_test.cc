// The Store contract for the operators' snapshot (ReadOpsSnapshot, the
// store-derived metrics): every figure equals what reading each delivery
// would give, through every kind of change, across a restart, with
// "overdue" exactly IsOverdue.
#include "broker/overdue.h"
#include "tests/store/conformance_fixture.h"

namespace hart::conformance {
namespace {

using ::testing::IsEmpty;
using ::testing::Optional;

// Deliveries of the snapshot in one group.
uint64_t Count(const OpsSnapshot& snapshot, v1::DeliveryState state, v1::AgencyKind agency_kind,
               v1::MessageKind kind) {
  auto it = snapshot.deliveries.find({state, agency_kind, kind});
  return it == snapshot.deliveries.end() ? 0 : it->second;
}

class OpsSnapshotConformanceTest : public StoreConformanceTest {
 protected:
  // Every delivery of the referrals created through Make, as stored now.
  std::vector<DeliveryRecord> AllDeliveries() {
    std::vector<DeliveryRecord> all;
    for (const std::string& id : referral_ids_) {
      for (auto& d : MUST(store().GetDeliveries(id))) all.push_back(std::move(d.delivery));
    }
    return all;
  }

  // The snapshot's delivery figures as reading every delivery gives them.
  OpsSnapshot Expected(absl::Time now) {
    OpsSnapshot expected;
    for (const DeliveryRecord& d : AllDeliveries()) {
      ++expected.deliveries[{d.state, d.agency_kind, d.kind}];
      if (IsOverdue(d, now)) ++expected.overdue[d.agency_kind];
      if (d.state == v1::DEAD && d.redelivered_as.empty()) ++expected.dead_letters[d.agency_kind];
      if (d.state == v1::PENDING || d.state == v1::IN_FLIGHT) {
        auto& oldest = expected.oldest_undelivered_created_at;
        if (!oldest || d.created_at < *oldest) oldest = d.created_at;
      }
    }
    return expected;
  }

  // The snapshot at `now` has the delivery figures of Expected(now).
  void ExpectDeliveryFiguresAt(absl::Time now) {
    ASSERT_OK_AND_ASSIGN(OpsSnapshot snapshot, store().ReadOpsSnapshot(now));
    const OpsSnapshot expected = Expected(now);
    EXPECT_EQ(snapshot.deliveries, expected.deliveries);
    EXPECT_EQ(snapshot.overdue, expected.overdue) << "at " << now;
    EXPECT_EQ(snapshot.dead_letters, expected.dead_letters);
    EXPECT_EQ(snapshot.oldest_undelivered_created_at, expected.oldest_undelivered_created_at);
  }

  // Stores `referral`, remembering it for AllDeliveries.
  void Make(const NewReferral& referral) {
    ASSERT_OK(Create(referral));
    referral_ids_.push_back(referral.referral.referral_id);
  }

  std::vector<std::string> referral_ids_;
};
HART_STORE_CONFORMANCE_SUITE(OpsSnapshotConformanceTest);

TEST_P(OpsSnapshotConformanceTest, AnEmptyStoreHasNothingToReport) {
  ASSERT_OK_AND_ASSIGN(OpsSnapshot snapshot, store().ReadOpsSnapshot(kT0));
  EXPECT_THAT(snapshot.deliveries, IsEmpty());
  EXPECT_THAT(snapshot.overdue, IsEmpty());
  EXPECT_THAT(snapshot.dead_letters, IsEmpty());
  EXPECT_EQ(snapshot.oldest_undelivered_created_at, std::nullopt);
  EXPECT_EQ(snapshot.audit_tree_size, 0u);
  EXPECT_EQ(snapshot.last_checkpoint_at, std::nullopt);
}

// A stopping broker's snapshot reads answer CANCELLED at once (a read in
// progress ends soon too: SQLite interrupts it, PostgreSQL's server
// cancels it, postgres_replicas_test); the store's other reads go on.
TEST_P(OpsSnapshotConformanceTest, OnceStoppedASnapshotReadIsCancelledAndNothingElseIs) {
  ASSERT_NO_FATAL_FAILURE(Make(Referral("a", {"hartford-pd"})));
  ASSERT_OK(store().ReadOpsSnapshot(kT0).status());
  store().StopOpsSnapshotReads();
  EXPECT_EQ(store().ReadOpsSnapshot(kT0).status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(store().ReadOpsSnapshot(kT0).status().code(), absl::StatusCode::kCancelled);
  ASSERT_OK(store().GetDelivery(DeliveryId("a", "hartford-pd")).status());
}

// Verifies the counts by state, agency kind and message kind follow each
// kind of change (claim, outcome, ack, escalation notice, redelivery,
// sealing) and survive a restart.
TEST_P(OpsSnapshotConformanceTest, CountsDeliveriesByStateKindAndMessageKindThroughEveryChange) {
  NewReferral a = Referral("a", {"hartford-pd", "ct-ht-task-force", "ncmec"});
  a.deliveries[1].agency_kind = v1::HT_TASK_FORCE;
  a.deliveries[2].agency_kind = v1::NCMEC;
  a.timers.push_back(LadderTimer(a.deliveries[0], "tmr_a_1", 1, kT0 + absl::Hours(1)));
  ASSERT_NO_FATAL_FAILURE(Make(a));
  ASSERT_NO_FATAL_FAILURE(Make(Referral("b", {"hartford-pd"}, kT0 + absl::Hours(2))));
  ASSERT_NO_FATAL_FAILURE(ExpectDeliveryFiguresAt(kT0));

  ASSERT_OK_AND_ASSIGN(auto claimed, Claim(kT0, kT0 + absl::Minutes(1)));
  ASSERT_EQ(claimed.size(), 3u);
  ASSERT_NO_FATAL_FAILURE(ExpectDeliveryFiguresAt(kT0));
  std::vector<DeliveryOutcome> outcomes;
  for (const DeliveryRecord& d : claimed) {
    if (d.agency_kind == v1::HT_TASK_FORCE) outcomes.push_back(Delivered(d, kT0, "ref-1"));
    if (d.agency_kind == v1::NCMEC) outcomes.push_back(Dead(d, kT0));
  }
  ASSERT_OK(store().RecordOutcomes(outcomes));
  ASSERT_OK(store().ApplyAck(Accepted(DeliveryId("a", "ct-ht-task-force"), v1::DELIVERED, kT0)));
  ASSERT_NO_FATAL_FAILURE(ExpectDeliveryFiguresAt(kT0));

  // A ladder step adds an ESCALATION notice; a redelivery a new delivery.
  ASSERT_OK_AND_ASSIGN(auto timers, ClaimTimers(kT0 + absl::Hours(1), kT0 + absl::Hours(2)));
  ASSERT_EQ(timers.size(), 1u);
  ASSERT_OK_AND_ASSIGN(auto police, store().GetDelivery(DeliveryId("a", "hartford-pd")));
  ASSERT_OK(store().ApplyEscalationStep(
      EscalationStep(timers[0], police, kT0 + absl::Hours(1), "dlv_notice", std::nullopt)));
  ASSERT_OK_AND_ASSIGN(auto dead, store().GetDelivery(DeliveryId("a", "ncmec")));
  ASSERT_OK(store().ApplyRedelivery(Redelivery(dead, v1::DEAD, "dlv_again", kT0 + absl::Hours(1))));
  ASSERT_OK(store().SealReferral(Seal(ReferralId("b"), kT0 + absl::Hours(1))));
  ASSERT_NO_FATAL_FAILURE(ExpectDeliveryFiguresAt(kT0 + absl::Hours(1)));
  ASSERT_OK_AND_ASSIGN(OpsSnapshot snapshot, store().ReadOpsSnapshot(kT0 + absl::Hours(1)));
  EXPECT_EQ(Count(snapshot, v1::PENDING, v1::LOCAL_LAW_ENFORCEMENT, v1::ESCALATION), 1u);

  ASSERT_OK(Reopen());
  ASSERT_NO_FATAL_FAILURE(ExpectDeliveryFiguresAt(kT0 + absl::Hours(1)));
}

// Verifies a batch item refused on its own (a lost compare-and-set) leaves
// the counts as they were, while the rest of its batch counts.
TEST_P(OpsSnapshotConformanceTest, AnItemRefusedInABatchChangesNoCount) {
  ASSERT_NO_FATAL_FAILURE(Make(Referral("a")));
  std::vector<WriteRequest> batch = {
      Referral("b"),
      // a's delivery is PENDING, not DELIVERED: refused alone.
      Accepted(DeliveryId("a", "hartford-pd"), v1::DELIVERED, kT0),
  };
  ASSERT_OK_AND_ASSIGN(auto results, store().ApplyWrites(batch));
  ASSERT_EQ(results.size(), 2u);
  ASSERT_OK(results[0]);
  ASSERT_EQ(STATUS_CODE(results[1]), absl::StatusCode::kAborted);
  referral_ids_.push_back(ReferralId("b"));
  ASSERT_NO_FATAL_FAILURE(ExpectDeliveryFiguresAt(kT0));
  ASSERT_OK_AND_ASSIGN(OpsSnapshot snapshot, store().ReadOpsSnapshot(kT0));
  EXPECT_EQ(Count(snapshot, v1::PENDING, v1::LOCAL_LAW_ENFORCEMENT, v1::REFERRAL), 2u);
}

// Verifies an intake refused on its own after some of its deliveries were
// written (its second collides with a stored one) counts none of them,
// while the rest of its batch counts, and a restart agrees.
TEST_P(OpsSnapshotConformanceTest, AnIntakeRefusedAfterWritingADeliveryCountsNone) {
  ASSERT_NO_FATAL_FAILURE(Make(Referral("a")));
  NewReferral colliding = Referral("b", {"ct-ht-task-force", "hartford-pd"});
  colliding.deliveries[0].agency_kind = v1::HT_TASK_FORCE;
  colliding.deliveries[1].delivery_id = DeliveryId("a", "hartford-pd");
  std::vector<WriteRequest> batch = {colliding, Referral("c")};
  ASSERT_OK_AND_ASSIGN(auto results, store().ApplyWrites(batch));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(STATUS_CODE(results[0]), absl::StatusCode::kAlreadyExists);
  ASSERT_OK(results[1]);
  referral_ids_.push_back(ReferralId("c"));
  ASSERT_NO_FATAL_FAILURE(ExpectDeliveryFiguresAt(kT0));
  ASSERT_OK_AND_ASSIGN(OpsSnapshot snapshot, store().ReadOpsSnapshot(kT0));
  EXPECT_EQ(Count(snapshot, v1::PENDING, v1::HT_TASK_FORCE, v1::REFERRAL), 0u);
  EXPECT_EQ(Count(snapshot, v1::PENDING, v1::LOCAL_LAW_ENFORCEMENT, v1::REFERRAL), 2u);
  ASSERT_OK(Reopen());
  ASSERT_NO_FATAL_FAILURE(ExpectDeliveryFiguresAt(kT0));
}

// Verifies "overdue" is IsOverdue: an ack deadline passed, a delivery
// deadline passed before delivery, never once accepted, redelivered, or for
// a message that is not a REFERRAL.
TEST_P(OpsSnapshotConformanceTest, CountsOverdueDeliveriesByAgencyKindAsIsOverdue) {
  NewReferral a = Referral("a", {"hartford-pd", "ct-ht-task-force", "ncmec", "csao"});
  a.deliveries[1].agency_kind = v1::HT_TASK_FORCE;
  a.deliveries[1].delivery_deadline.reset();
  a.deliveries[2].agency_kind = v1::NCMEC;
  a.deliveries[3].agency_kind = v1::STATE_ATTORNEY;
  a.deliveries[3].ack_deadline = kT0 + absl::Hours(4);
  ASSERT_NO_FATAL_FAILURE(Make(a));
  NewReferral b = Referral("b", {"hartford-pd"});
  b.deliveries[0].kind = v1::UPDATE;  // never overdue
  ASSERT_NO_FATAL_FAILURE(Make(b));
  // Police: delivered (its delivery deadline no longer counts); NCMEC:
  // dead, then redelivered (the new one counts, the old one not).
  ASSERT_OK_AND_ASSIGN(auto claimed, Claim(kT0, kT0 + absl::Minutes(1)));
  std::vector<DeliveryOutcome> outcomes;
  for (const DeliveryRecord& d : claimed) {
    if (d.delivery_id == DeliveryId("a", "hartford-pd")) outcomes.push_back(Delivered(d, kT0, "r"));
    if (d.agency_kind == v1::NCMEC) outcomes.push_back(Dead(d, kT0));
  }
  ASSERT_EQ(outcomes.size(), 2u);
  ASSERT_OK(store().RecordOutcomes(outcomes));
  ASSERT_OK_AND_ASSIGN(auto dead, store().GetDelivery(DeliveryId("a", "ncmec")));
  RedeliveryWrite again = Redelivery(dead, v1::DEAD, "dlv_again", kT0);
  again.new_delivery.agency_kind = v1::NCMEC;
  ASSERT_OK(store().ApplyRedelivery(again));

  for (absl::Duration after : {absl::ZeroDuration(), absl::Hours(4), absl::Hours(23),
                               absl::Hours(24), absl::Hours(25), absl::Hours(72),
                               absl::Hours(100)}) {
    ASSERT_NO_FATAL_FAILURE(ExpectDeliveryFiguresAt(kT0 + after));
  }
  ASSERT_OK_AND_ASSIGN(OpsSnapshot at_25h, store().ReadOpsSnapshot(kT0 + absl::Hours(25)));
  EXPECT_EQ(at_25h.overdue[v1::STATE_ATTORNEY], 1u);  // ack deadline (4 h) passed
  EXPECT_EQ(at_25h.overdue[v1::NCMEC], 1u);           // the redelivery, not yet delivered
  EXPECT_EQ(at_25h.overdue.count(v1::LOCAL_LAW_ENFORCEMENT), 0u);  // delivered in time

  // Once accepted, never overdue again.
  ASSERT_OK(store().ApplyAck(Accepted(DeliveryId("a", "csao"), v1::IN_FLIGHT, kT0)));
  ASSERT_NO_FATAL_FAILURE(ExpectDeliveryFiguresAt(kT0 + absl::Hours(100)));
  ASSERT_OK_AND_ASSIGN(OpsSnapshot later, store().ReadOpsSnapshot(kT0 + absl::Hours(100)));
  EXPECT_EQ(later.overdue.count(v1::STATE_ATTORNEY), 0u);
}

// Verifies dead letters count until a supervisor redelivers them, and the
// oldest undelivered delivery is the oldest PENDING or IN_FLIGHT one.
TEST_P(OpsSnapshotConformanceTest, ReportsDeadLettersAndTheOldestUndeliveredDelivery) {
  NewReferral a = Referral("a", {"hartford-pd", "ncmec"});
  a.deliveries[1].agency_kind = v1::NCMEC;
  ASSERT_NO_FATAL_FAILURE(Make(a));
  NewReferral b = Referral("b", {"hartford-pd"}, kT0 + absl::Hours(1));
  b.deliveries[0].created_at = kT0 + absl::Minutes(30);
  ASSERT_NO_FATAL_FAILURE(Make(b));
  ASSERT_OK_AND_ASSIGN(OpsSnapshot before, store().ReadOpsSnapshot(kT0));
  EXPECT_THAT(before.oldest_undelivered_created_at, Optional(kT0));

  // a's deliveries go: police delivered, NCMEC dead. b's is then the oldest.
  ASSERT_OK_AND_ASSIGN(auto claimed, Claim(kT0, kT0 + absl::Minutes(1)));
  ASSERT_EQ(claimed.size(), 2u);
  std::vector<DeliveryOutcome> outcomes;
  for (const DeliveryRecord& d : claimed) {
    outcomes.push_back(d.agency_kind == v1::NCMEC ? Dead(d, kT0) : Delivered(d, kT0, "r"));
  }
  ASSERT_OK(store().RecordOutcomes(outcomes));
  ASSERT_OK_AND_ASSIGN(OpsSnapshot after, store().ReadOpsSnapshot(kT0));
  EXPECT_THAT(after.oldest_undelivered_created_at, Optional(kT0 + absl::Minutes(30)));
  EXPECT_EQ(after.dead_letters, (std::map<v1::AgencyKind, uint64_t>{{v1::NCMEC, 1}}));
  ASSERT_NO_FATAL_FAILURE(ExpectDeliveryFiguresAt(kT0));

  // Redelivered: no longer a dead letter; the new delivery is undelivered.
  ASSERT_OK_AND_ASSIGN(auto dead, store().GetDelivery(DeliveryId("a", "ncmec")));
  ASSERT_OK(store().ApplyRedelivery(Redelivery(dead, v1::DEAD, "dlv_again", kT0 + absl::Hours(2))));
  ASSERT_OK_AND_ASSIGN(OpsSnapshot redelivered, store().ReadOpsSnapshot(kT0));
  EXPECT_THAT(redelivered.dead_letters, IsEmpty());
  EXPECT_THAT(redelivered.oldest_undelivered_created_at, Optional(kT0 + absl::Minutes(30)));
  ASSERT_NO_FATAL_FAILURE(ExpectDeliveryFiguresAt(kT0));
}

// Verifies the audit figures: the tree's size and the latest checkpoint's
// time (by tree size, whatever order they were stored in).
TEST_P(OpsSnapshotConformanceTest, ReportsTheAuditTreeSizeAndTheLatestCheckpoint) {
  ASSERT_NO_FATAL_FAILURE(Make(Referral("a", {"hartford-pd", "ncmec"})));
  ASSERT_OK_AND_ASSIGN(auto head, store().AuditHead());
  ASSERT_OK_AND_ASSIGN(OpsSnapshot unsigned_log, store().ReadOpsSnapshot(kT0));
  EXPECT_EQ(unsigned_log.audit_tree_size, head.size);
  EXPECT_GT(head.size, 0u);
  EXPECT_EQ(unsigned_log.last_checkpoint_at, std::nullopt);

  ASSERT_OK(store().AppendCheckpoint(Checkpoint(2, std::string(32, 'b'), kT0 + absl::Hours(2))));
  ASSERT_OK(store().AppendCheckpoint(Checkpoint(1, std::string(32, 'a'), kT0 + absl::Hours(1))));
  ASSERT_OK_AND_ASSIGN(OpsSnapshot signed_log, store().ReadOpsSnapshot(kT0));
  EXPECT_THAT(signed_log.last_checkpoint_at, Optional(kT0 + absl::Hours(2)));
  EXPECT_EQ(signed_log.audit_tree_size, head.size);
}

}  // namespace
}  // namespace hart::conformance
