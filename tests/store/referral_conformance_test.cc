// The Store contract for referrals: creation, idempotency, batch atomicity,
// receipts, lookups and referral changes.
#include "google/protobuf/util/message_differencer.h"
#include "tests/store/conformance_fixture.h"

namespace hart::conformance {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using Outcome = CreateReferralResult::Outcome;

class ReferralConformanceTest : public StoreConformanceTest {};
HART_STORE_CONFORMANCE_SUITE(ReferralConformanceTest);

TEST_P(ReferralConformanceTest, CreatesANewReportAndFindsItByReportId) {
  const NewReferral a = Referral("a");
  ASSERT_OK_AND_ASSIGN(auto results, store().CreateReferrals({&a, 1}));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome, Outcome::kCreated);
  EXPECT_EQ(results[0].receipt.referral_id(), ReferralId("a"));
  ASSERT_OK_AND_ASSIGN(auto id, store().FindReferralId(ReportId("a")));
  EXPECT_EQ(id, ReferralId("a"));
  ASSERT_OK_AND_ASSIGN(auto delivery, store().GetDelivery(DeliveryId("a", "hartford-pd")));
  EXPECT_EQ(delivery.state, v1::PENDING);
  EXPECT_EQ(delivery.attempts, 0u);
}

TEST_P(ReferralConformanceTest, GetReferralRoundTripsTheIntakeAndItsFields) {
  const NewReferral a = Referral("a");
  ASSERT_OK_AND_ASSIGN(auto receipt, Create(a));
  ASSERT_OK_AND_ASSIGN(auto stored, store().GetReferral(ReferralId("a")));
  EXPECT_EQ(stored.referral_id, ReferralId("a"));
  EXPECT_EQ(stored.careline_report_id, ReportId("a"));
  EXPECT_EQ(stored.content_sha256, a.referral.content_sha256);
  EXPECT_TRUE(MessageDifferencer::Equals(stored.intake, a.referral.intake))
      << stored.intake.ShortDebugString();
  EXPECT_TRUE(MessageDifferencer::Equals(stored.receipt, receipt));
  EXPECT_EQ(stored.priority, v1::URGENT);
  EXPECT_EQ(stored.resolved_town, "Hartford");
  EXPECT_EQ(stored.received_at, a.referral.received_at);
  EXPECT_EQ(stored.accepted_at, kT0);
  EXPECT_EQ(stored.version, 1);
  EXPECT_FALSE(stored.sealed_at.has_value());
}

TEST_P(ReferralConformanceTest, DeliveriesRoundTripEveryField) {
  NewReferral a = Referral("a", {"hartford-pd", "dcf-careline"});
  a.deliveries[1].kind = v1::UPDATE;
  a.deliveries[1].changes = {"child.town", "rule:missing-72h"};
  a.deliveries[1].delivery_deadline.reset();
  ASSERT_OK(Create(a));
  ASSERT_OK_AND_ASSIGN(auto deliveries, store().GetDeliveries(ReferralId("a")));
  ASSERT_EQ(deliveries.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const DeliveryRecord& want = a.deliveries[i];
    const DeliveryRecord& got = deliveries[i].delivery;
    EXPECT_EQ(got.delivery_id, want.delivery_id);
    EXPECT_EQ(got.referral_id, want.referral_id);
    EXPECT_EQ(got.agency_id, want.agency_id);
    EXPECT_EQ(got.agency_kind, want.agency_kind);
    EXPECT_EQ(got.rule_ids, want.rule_ids);
    EXPECT_EQ(got.adapter_type, want.adapter_type);
    EXPECT_EQ(got.state, v1::PENDING);
    EXPECT_EQ(got.created_at, want.created_at);
    EXPECT_EQ(got.next_attempt_at, want.next_attempt_at);
    EXPECT_EQ(got.ack_deadline, want.ack_deadline);
    EXPECT_EQ(got.delivery_deadline, want.delivery_deadline);
    EXPECT_EQ(got.kind, want.kind);
    EXPECT_EQ(got.changes, want.changes);
    EXPECT_TRUE(got.transport_ref.empty());
    EXPECT_TRUE(deliveries[i].acks.empty());
  }
}

// Verifies a resubmission of the same report (same digest) stores nothing
// and answers with the original receipt.
TEST_P(ReferralConformanceTest, SameReportIdAndDigestIsADuplicateWithTheOriginalReceipt) {
  ASSERT_OK_AND_ASSIGN(auto original, Create(Referral("a")));
  ASSERT_OK_AND_ASSIGN(auto head, store().AuditHead());
  NewReferral again = Referral("a");
  again.referral.referral_id = "ref_a_resubmitted";
  again.deliveries[0].delivery_id = "dlv_a_resubmitted";
  ASSERT_OK_AND_ASSIGN(auto results, store().CreateReferrals({&again, 1}));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome, Outcome::kDuplicate);
  EXPECT_TRUE(MessageDifferencer::Equals(results[0].receipt, original));
  EXPECT_EQ(STATUS_CODE(store().GetReferral("ref_a_resubmitted")), absl::StatusCode::kNotFound);
  EXPECT_EQ(STATUS_CODE(store().GetDelivery("dlv_a_resubmitted")), absl::StatusCode::kNotFound);
  EXPECT_EQ(MUST(store().AuditHead()).size, head.size);
}

TEST_P(ReferralConformanceTest, SameReportIdOtherDigestIsAConflictAndStoresNothing) {
  ASSERT_OK_AND_ASSIGN(auto original, Create(Referral("a")));
  ASSERT_OK_AND_ASSIGN(auto head, store().AuditHead());
  NewReferral changed = Referral("a", {"hartford-pd"}, kT0, "digest-2");
  changed.referral.referral_id = "ref_a_changed";
  changed.deliveries[0].delivery_id = "dlv_a_changed";
  ASSERT_OK_AND_ASSIGN(auto results, store().CreateReferrals({&changed, 1}));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome, Outcome::kConflict);
  EXPECT_TRUE(MessageDifferencer::Equals(results[0].receipt, original));
  EXPECT_EQ(STATUS_CODE(store().GetReferral("ref_a_changed")), absl::StatusCode::kNotFound);
  EXPECT_EQ(STATUS_CODE(store().GetDelivery("dlv_a_changed")), absl::StatusCode::kNotFound);
  EXPECT_EQ(MUST(store().AuditHead()).size, head.size);
}

// Verifies items are applied in order: a repeat later in the same batch
// sees the first as stored.
TEST_P(ReferralConformanceTest, ARepeatInsideOneBatchIsADuplicate) {
  NewReferral repeat = Referral("a");
  repeat.referral.referral_id = "ref_a_repeat";
  repeat.deliveries[0].delivery_id = "dlv_a_repeat";
  const std::vector<NewReferral> batch = {Referral("a"), repeat, Referral("b")};
  ASSERT_OK_AND_ASSIGN(auto results, store().CreateReferrals(batch));
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].outcome, Outcome::kCreated);
  EXPECT_EQ(results[1].outcome, Outcome::kDuplicate);
  EXPECT_EQ(results[2].outcome, Outcome::kCreated);
  EXPECT_TRUE(MessageDifferencer::Equals(results[1].receipt, results[0].receipt));
  EXPECT_EQ(STATUS_CODE(store().GetReferral("ref_a_repeat")), absl::StatusCode::kNotFound);
}

// Verifies a batch is one transaction: when a later item fails (its
// delivery id repeats an earlier item's), nothing of the batch is stored,
// its audit events included, and the log continues without a gap.
TEST_P(ReferralConformanceTest, ABatchWhoseLaterItemFailsStoresNothingOfTheBatch) {
  ASSERT_OK(Create(Referral("before")));
  ASSERT_OK_AND_ASSIGN(auto head, store().AuditHead());
  NewReferral first = Referral("x");
  NewReferral second = Referral("y");
  second.deliveries[0].delivery_id = first.deliveries[0].delivery_id;
  const std::vector<NewReferral> batch = {first, second};
  EXPECT_FALSE(store().CreateReferrals(batch).ok());

  for (const auto& key : {"x", "y"}) {
    EXPECT_EQ(STATUS_CODE(store().GetReferral(ReferralId(key))), absl::StatusCode::kNotFound);
    EXPECT_EQ(STATUS_CODE(store().FindReferralId(ReportId(key))), absl::StatusCode::kNotFound);
  }
  EXPECT_EQ(STATUS_CODE(store().GetDelivery(first.deliveries[0].delivery_id)),
            absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(auto after, store().AuditHead());
  EXPECT_EQ(after.size, head.size);
  EXPECT_EQ(after.root_hash, head.root_hash);
  EXPECT_EQ(MUST(AllAuditEvents()).size(), head.size);

  // The failed batch left no trace: its first item now stores cleanly and
  // its first event takes the next index.
  ASSERT_OK_AND_ASSIGN(auto receipt, Create(first));
  EXPECT_EQ(receipt.audit_index(), head.size);
}

TEST_P(ReferralConformanceTest, AReceiptCarriesTheAuditIndexOfItsReferralsFirstEvent) {
  ASSERT_OK(Create(Referral("before", {"hartford-pd", "dcf-careline"})));
  ASSERT_OK_AND_ASSIGN(auto head, store().AuditHead());
  const std::vector<NewReferral> batch = {Referral("a"), Referral("b")};
  ASSERT_OK_AND_ASSIGN(auto results, store().CreateReferrals(batch));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].receipt.audit_index(), head.size);
  EXPECT_EQ(results[1].receipt.audit_index(), head.size + batch[0].audit.size());
  for (const auto& result : results) {
    ASSERT_OK_AND_ASSIGN(
        auto events,
        store().ListAuditEvents({.start_index = result.receipt.audit_index(), .limit = 1}));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].index, result.receipt.audit_index());
    EXPECT_EQ(events[0].action, "intake.accepted");
    EXPECT_EQ(events[0].referral_id, result.receipt.referral_id());
    // The stored receipt says the same.
    EXPECT_EQ(MUST(store().GetReferral(result.receipt.referral_id())).receipt.audit_index(),
              result.receipt.audit_index());
  }
}

TEST_P(ReferralConformanceTest, FindReferralIdIsNotFoundForAnUnknownReportId) {
  ASSERT_OK(Create(Referral("a")));
  EXPECT_EQ(STATUS_CODE(store().FindReferralId(ReportId("unknown"))), absl::StatusCode::kNotFound);
}

TEST_P(ReferralConformanceTest, ACreatedReferralSurvivesARestart) {
  NewReferral a = Referral("a");
  a.timers.push_back(RerouteTimer(ReferralId("a"), "tmr_a", kT0 + absl::Hours(72)));
  ASSERT_OK_AND_ASSIGN(auto receipt, Create(a));
  ASSERT_OK(Reopen());
  ASSERT_OK_AND_ASSIGN(auto stored, store().GetReferral(ReferralId("a")));
  EXPECT_TRUE(MessageDifferencer::Equals(stored.intake, a.referral.intake));
  EXPECT_TRUE(MessageDifferencer::Equals(stored.receipt, receipt));
  EXPECT_EQ(StateOf(DeliveryId("a", "hartford-pd")).value_or(v1::DELIVERY_STATE_UNSPECIFIED),
            v1::PENDING);
  ASSERT_OK_AND_ASSIGN(auto timers, store().PendingTimers(ReferralId("a")));
  ASSERT_EQ(timers.size(), 1u);
  EXPECT_EQ(timers[0].timer_id, "tmr_a");
}

// Verifies a change bumps the version, stores the new facts and deliveries,
// replaces pending reroute timers and records the supplement for retries.
TEST_P(ReferralConformanceTest, AChangeBumpsTheVersionAndReplacesRerouteTimers) {
  NewReferral a = Referral("a");
  a.timers.push_back(RerouteTimer(ReferralId("a"), "tmr_old", kT0 + absl::Hours(72)));
  ASSERT_OK(Create(a));
  ASSERT_OK_AND_ASSIGN(auto stored, store().GetReferral(ReferralId("a")));

  ReferralChange change = ChangeOf(stored, kT0 + absl::Hours(1));
  change.intake.mutable_child()->set_town("New Haven");
  change.resolved_town = "New Haven";
  change.new_deliveries.push_back(
      Delivery(ReferralId("a"), "dlv_a_new-haven-pd", "new-haven-pd", kT0 + absl::Hours(1)));
  change.new_timers.push_back(RerouteTimer(ReferralId("a"), "tmr_new", kT0 + absl::Hours(80)));
  change.supplement_id = "sup_1";
  change.supplement_sha256 = std::string(32, '\x11');
  change.supplement_response = "serialized response";
  ASSERT_OK(store().ApplyReferralChange(change));

  ASSERT_OK_AND_ASSIGN(auto changed, store().GetReferral(ReferralId("a")));
  EXPECT_EQ(changed.version, stored.version + 1);
  EXPECT_EQ(changed.intake.child().town(), "New Haven");
  EXPECT_EQ(changed.resolved_town, "New Haven");
  EXPECT_EQ(StateOf("dlv_a_new-haven-pd").value_or(v1::DELIVERY_STATE_UNSPECIFIED), v1::PENDING);
  ASSERT_OK_AND_ASSIGN(auto timers, store().PendingTimers(ReferralId("a")));
  ASSERT_EQ(timers.size(), 1u);
  EXPECT_EQ(timers[0].timer_id, "tmr_new");
  ASSERT_OK_AND_ASSIGN(auto supplement, store().FindSupplement("sup_1"));
  ASSERT_TRUE(supplement.has_value());
  EXPECT_EQ(supplement->referral_id, ReferralId("a"));
  EXPECT_EQ(supplement->supplement_sha256, change.supplement_sha256);
  EXPECT_EQ(supplement->response, change.supplement_response);
  EXPECT_THAT(store().ListSupplements(ReferralId("a")).value_or(std::vector<std::string>{}),
              ElementsAre("sup_1"));
  EXPECT_FALSE(MUST(store().FindSupplement("sup_unknown")).has_value());
}

// Verifies a fired reroute timer is marked done by the change that applies it.
TEST_P(ReferralConformanceTest, AChangeFromAFiredTimerMarksTheTimerDone) {
  NewReferral a = Referral("a");
  a.timers.push_back(RerouteTimer(ReferralId("a"), "tmr_72h", kT0 + absl::Hours(72)));
  ASSERT_OK(Create(a));
  ASSERT_OK_AND_ASSIGN(auto stored, store().GetReferral(ReferralId("a")));
  ReferralChange change = ChangeOf(stored, kT0 + absl::Hours(72));
  change.fired_timer_id = "tmr_72h";
  ASSERT_OK(store().ApplyReferralChange(change));
  EXPECT_TRUE(MUST(store().PendingTimers(ReferralId("a"))).empty());
  EXPECT_TRUE(MUST(ClaimTimers(kT0 + absl::Hours(100), kT0 + absl::Hours(101))).empty());
}

}  // namespace
}  // namespace hart::conformance
