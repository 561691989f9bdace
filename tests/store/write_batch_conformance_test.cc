// The Store contract for the writer queue's batches (ApplyWrites): one
// transaction of mixed writes, each item decided as its own call would
// decide it, an item refused on its own rolled back alone (audit tree
// included), and any other error storing nothing of the batch.
#include "broker/audit/merkle_tree.h"
#include "google/protobuf/util/message_differencer.h"
#include "tests/store/conformance_fixture.h"
#include "tests/store/reference_tree.h"

namespace hart::conformance {
namespace {

using ::google::protobuf::util::MessageDifferencer;

class WriteBatchConformanceTest : public StoreConformanceTest {
 protected:
  // The head equals the RFC 6962 root of the listed leaves, gap-free.
  void ExpectHeadMatchesListedLeaves() {
    ASSERT_OK_AND_ASSIGN(auto events, AllAuditEvents());
    for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].index, i);
    std::vector<std::string> leaves;
    for (const auto& e : events) leaves.push_back(e.leaf_hash);
    InMemoryLeaves reference(std::move(leaves));
    ASSERT_OK_AND_ASSIGN(auto root, audit::SubtreeRoot(reference, 0, reference.size()));
    ASSERT_OK_AND_ASSIGN(auto head, store().AuditHead());
    EXPECT_EQ(head.size, reference.size());
    EXPECT_EQ(head.root_hash, root);
  }
};
HART_STORE_CONFORMANCE_SUITE(WriteBatchConformanceTest);

// Verifies a batch holding every kind of write applies each one, answers
// each with its own result, in order, and audits them in batch order.
TEST_P(WriteBatchConformanceTest, EveryKindOfWriteAppliesInOneBatch) {
  NewReferral a = Referral("a");
  a.timers.push_back(LadderTimer(a.deliveries[0], "tmr_ladder_a", 1, kT0 + absl::Hours(1)));
  ASSERT_OK(Create(a));
  ASSERT_OK(Create(Referral("c")));
  ASSERT_OK_AND_ASSIGN(auto claimed, Claim(kT0, kT0 + absl::Minutes(1)));
  ASSERT_EQ(claimed.size(), 2u);
  const DeliveryRecord& a_claimed = claimed[0].referral_id == ReferralId("a") ? claimed[0] : claimed[1];
  const DeliveryRecord& c_claimed = claimed[0].referral_id == ReferralId("c") ? claimed[0] : claimed[1];
  ASSERT_OK(store().AppendToFeeds(std::vector<FeedAppend>{FeedAppendFor(a_claimed)}, kT0));
  ASSERT_OK_AND_ASSIGN(auto stored_a, store().GetReferral(ReferralId("a")));
  ASSERT_OK_AND_ASSIGN(auto timers,
                       ClaimTimers(kT0 + absl::Hours(2), kT0 + absl::Hours(2) + absl::Minutes(1)));
  ASSERT_EQ(timers.size(), 1u);
  ASSERT_OK_AND_ASSIGN(auto head, store().AuditHead());

  ReferralChange change = ChangeOf(stored_a, kT0 + absl::Minutes(2));
  change.supplement_id = "sup_a_1";
  change.supplement_sha256 = "supplement-digest";
  std::vector<WriteRequest> batch = {
      Referral("b"),
      Received(DeliveryId("a", "hartford-pd"), kT0 + absl::Minutes(1)),
      change,
      EscalationStep(timers[0], a_claimed, kT0 + absl::Hours(2), "", std::nullopt),
      FeedAppendWrite{FeedAppendFor(c_claimed), kT0 + absl::Minutes(3)},
      AuditAppend{{Event("intake.rejected", "")}},
  };
  ASSERT_OK_AND_ASSIGN(auto results, store().ApplyWrites(batch));
  ASSERT_EQ(results.size(), batch.size());
  for (const auto& r : results) ASSERT_OK(r);
  EXPECT_EQ(std::get<CreateReferralResult>(*results[0]).outcome,
            CreateReferralResult::Outcome::kCreated);
  // The ack's event follows referral b's events.
  const uint64_t ack_index = std::get<AckApplied>(*results[1]).audit_index;
  EXPECT_EQ(ack_index, head.size + Referral("b").audit.size());
  EXPECT_TRUE(std::holds_alternative<ReferralChanged>(*results[2]));
  EXPECT_GT(std::get<EscalationApplied>(*results[3]).sequence, 0u);
  EXPECT_EQ(std::get<FeedAppendResult>(*results[4]).delivery_id, c_claimed.delivery_id);
  EXPECT_TRUE(std::holds_alternative<AuditAppended>(*results[5]));

  EXPECT_OK(store().GetReferral(ReferralId("b")));
  EXPECT_EQ(StateOf(DeliveryId("a", "hartford-pd")).value_or(v1::DELIVERY_STATE_UNSPECIFIED),
            v1::DELIVERED);
  EXPECT_EQ(MUST(store().GetReferral(ReferralId("a"))).version, stored_a.version + 1);
  EXPECT_TRUE(MUST(store().FindSupplement("sup_a_1")).has_value());
  EXPECT_EQ(MUST(store().ReadEscalations(0, 10)).size(), 1u);
  EXPECT_EQ(MUST(store().FeedHead("hartford-pd")), 2u);
  ASSERT_OK_AND_ASSIGN(auto events, AllAuditEvents());
  EXPECT_EQ(events.back().action, "intake.rejected");
  ASSERT_NO_FATAL_FAILURE(ExpectHeadMatchesListedLeaves());
}

// Verifies items refused on their own (a colliding delivery id, a lost
// compare-and-set, an unknown delivery, a stale referral version) write
// nothing, not even audit leaves, and the rest of the batch commits.
TEST_P(WriteBatchConformanceTest, AnItemRefusedAloneWritesNothingAndTheRestCommits) {
  ASSERT_OK(Create(Referral("a")));  // its delivery stays PENDING
  ASSERT_OK_AND_ASSIGN(auto stored_a, store().GetReferral(ReferralId("a")));
  ASSERT_OK_AND_ASSIGN(auto head, store().AuditHead());
  NewReferral colliding = Referral("c");
  colliding.deliveries[0].delivery_id = DeliveryId("b", "hartford-pd");
  ReferralChange stale = ChangeOf(stored_a, kT0 + absl::Minutes(1));
  stale.expected_version = stored_a.version + 7;
  std::vector<WriteRequest> batch = {
      Referral("b"),
      colliding,
      Received(DeliveryId("a", "hartford-pd"), kT0),  // PENDING, not IN_FLIGHT
      Received("dlv_nobody", kT0),
      stale,
      Referral("d"),
  };
  ASSERT_OK_AND_ASSIGN(auto results, store().ApplyWrites(batch));
  ASSERT_EQ(results.size(), batch.size());
  EXPECT_OK(results[0]);
  EXPECT_EQ(STATUS_CODE(results[1]), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(STATUS_CODE(results[2]), absl::StatusCode::kAborted);
  EXPECT_EQ(STATUS_CODE(results[3]), absl::StatusCode::kNotFound);
  EXPECT_EQ(STATUS_CODE(results[4]), absl::StatusCode::kAborted);
  EXPECT_OK(results[5]);

  EXPECT_OK(store().GetReferral(ReferralId("b")));
  EXPECT_OK(store().GetReferral(ReferralId("d")));
  EXPECT_EQ(STATUS_CODE(store().GetReferral(ReferralId("c"))), absl::StatusCode::kNotFound);
  EXPECT_EQ(MUST(store().GetDelivery(DeliveryId("b", "hartford-pd"))).referral_id,
            ReferralId("b"));
  EXPECT_EQ(StateOf(DeliveryId("a", "hartford-pd")).value_or(v1::DELIVERY_STATE_UNSPECIFIED),
            v1::PENDING);
  EXPECT_EQ(MUST(store().GetReferral(ReferralId("a"))).version, stored_a.version);
  ASSERT_OK_AND_ASSIGN(auto after, store().AuditHead());
  EXPECT_EQ(after.size, head.size + Referral("b").audit.size() + Referral("d").audit.size());
  ASSERT_NO_FATAL_FAILURE(ExpectHeadMatchesListedLeaves());
  // The stored tree state is the committed one: a restart agrees.
  ASSERT_OK(Reopen());
  ASSERT_OK_AND_ASSIGN(auto reopened, store().AuditHead());
  EXPECT_EQ(reopened.size, after.size);
  EXPECT_EQ(reopened.root_hash, after.root_hash);
}

// Verifies intakes of one batch are told apart from stored reports and
// from each other (PostgreSQL looks the whole batch's report ids up at
// once), also when an item refused alone makes the batch run again.
TEST_P(WriteBatchConformanceTest, RepeatedReportsInABatchAreDuplicatesOrConflicts) {
  ASSERT_OK_AND_ASSIGN(auto original_a, Create(Referral("a")));
  NewReferral again_a = Referral("a");
  again_a.referral.referral_id = "ref_a_again";
  again_a.deliveries[0].delivery_id = "dlv_a_again";
  NewReferral changed_b = Referral("b", {"hartford-pd"}, kT0, "digest-2");
  changed_b.referral.referral_id = "ref_b_changed";
  changed_b.deliveries[0].delivery_id = "dlv_b_changed";
  NewReferral colliding = Referral("c");
  colliding.deliveries[0].delivery_id = DeliveryId("b", "hartford-pd");
  using Outcome = CreateReferralResult::Outcome;
  auto outcome = [](const absl::StatusOr<WriteResult>& r) {
    return std::get<CreateReferralResult>(*r).outcome;
  };
  for (bool with_refused_item : {false, true}) {
    SCOPED_TRACE(with_refused_item ? "rerun item by item" : "one pass");
    std::vector<WriteRequest> batch = {again_a, Referral("b"), changed_b};
    if (with_refused_item) batch = {again_a, colliding, Referral("d"), Referral("d")};
    ASSERT_OK_AND_ASSIGN(auto results, store().ApplyWrites(batch));
    ASSERT_EQ(results.size(), batch.size());
    ASSERT_OK(results[0]);
    EXPECT_EQ(outcome(results[0]), Outcome::kDuplicate);
    EXPECT_TRUE(MessageDifferencer::Equals(std::get<CreateReferralResult>(*results[0]).receipt,
                                           original_a));
    if (!with_refused_item) {
      ASSERT_OK(results[1]);
      EXPECT_EQ(outcome(results[1]), Outcome::kCreated);
      ASSERT_OK(results[2]);
      EXPECT_EQ(outcome(results[2]), Outcome::kConflict);
      EXPECT_EQ(STATUS_CODE(store().GetReferral("ref_b_changed")), absl::StatusCode::kNotFound);
    } else {
      EXPECT_EQ(STATUS_CODE(results[1]), absl::StatusCode::kAlreadyExists);
      ASSERT_OK(results[2]);
      EXPECT_EQ(outcome(results[2]), Outcome::kCreated);
      ASSERT_OK(results[3]);
      EXPECT_EQ(outcome(results[3]), Outcome::kDuplicate);
      // The refused item's report is not taken for stored.
      std::vector<WriteRequest> retry = {Referral("c")};
      ASSERT_OK_AND_ASSIGN(auto retried, store().ApplyWrites(retry));
      ASSERT_OK(retried.at(0));
      EXPECT_EQ(outcome(retried[0]), Outcome::kCreated);
    }
  }
  EXPECT_EQ(STATUS_CODE(store().GetReferral("ref_a_again")), absl::StatusCode::kNotFound);
  ASSERT_NO_FATAL_FAILURE(ExpectHeadMatchesListedLeaves());
}

// Verifies a report whose referral was sealed is neither a duplicate nor a
// conflict (either would confirm or deny its sealed facts): kSealed,
// whatever the content, with nothing stored, in a batch (PostgreSQL's
// lookup of the batch's report ids) and alone.
TEST_P(WriteBatchConformanceTest, AResubmittedSealedReportIsToldSealedWhateverItsContent) {
  ASSERT_OK(Create(Referral("a")));
  ASSERT_OK(store().SealReferral(Seal(ReferralId("a"), kT0 + absl::Minutes(1))));
  NewReferral same = Referral("a");
  same.referral.referral_id = "ref_a_same";
  same.deliveries[0].delivery_id = "dlv_a_same";
  NewReferral changed = Referral("a", {"hartford-pd"}, kT0, "digest-2");
  changed.referral.referral_id = "ref_a_changed";
  changed.deliveries[0].delivery_id = "dlv_a_changed";
  for (std::vector<WriteRequest> batch :
       {std::vector<WriteRequest>{same, changed, Referral("b")}, {same}, {changed}}) {
    ASSERT_OK_AND_ASSIGN(auto results, store().ApplyWrites(batch));
    for (size_t i = 0; i < results.size(); ++i) {
      const auto& request = std::get<NewReferral>(batch[i]);
      if (request.referral.careline_report_id != Referral("a").referral.careline_report_id) {
        continue;
      }
      ASSERT_OK(results[i]);
      const auto& result = std::get<CreateReferralResult>(*results[i]);
      EXPECT_EQ(result.outcome, CreateReferralResult::Outcome::kSealed);
      EXPECT_EQ(result.receipt.referral_id(), ReferralId("a"));
    }
  }
  EXPECT_EQ(STATUS_CODE(store().GetReferral("ref_a_same")), absl::StatusCode::kNotFound);
  EXPECT_EQ(STATUS_CODE(store().GetReferral("ref_a_changed")), absl::StatusCode::kNotFound);
  ASSERT_NO_FATAL_FAILURE(ExpectHeadMatchesListedLeaves());
}

// Verifies an error that is not an item's own (here a write the store
// cannot take: a delivery naming a referral that does not exist) fails the
// whole batch and stores nothing of it.
TEST_P(WriteBatchConformanceTest, AnyOtherErrorStoresNothingOfTheBatch) {
  ASSERT_OK(Create(Referral("a")));
  ASSERT_OK_AND_ASSIGN(auto head, store().AuditHead());
  NewReferral malformed = Referral("c");
  malformed.deliveries[0].referral_id = ReferralId("nobody");
  std::vector<WriteRequest> batch = {Referral("b"), malformed};
  auto results = store().ApplyWrites(batch);
  ASSERT_FALSE(results.ok());
  EXPECT_FALSE(IsPerItemWriteError(results.status())) << results.status();
  EXPECT_EQ(STATUS_CODE(store().GetReferral(ReferralId("b"))), absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(auto after, store().AuditHead());
  EXPECT_EQ(after.size, head.size);
  EXPECT_EQ(after.root_hash, head.root_hash);
  // And the store takes the next batch normally.
  std::vector<WriteRequest> next = {Referral("b")};
  ASSERT_OK_AND_ASSIGN(auto retried, store().ApplyWrites(next));
  EXPECT_OK(retried.at(0));
  ASSERT_NO_FATAL_FAILURE(ExpectHeadMatchesListedLeaves());
}

}  // namespace
}  // namespace hart::conformance
