// The Store contract for PII at rest and sealing: nothing the backend
// persists holds plaintext PII; a sealed referral's PII is gone for good and
// its pending work stops, while the audit tree still verifies.
#include "broker/audit/merkle_tree.h"
#include "tests/store/conformance_fixture.h"

namespace hart::conformance {
namespace {

using ::testing::IsEmpty;

class SealingConformanceTest : public StoreConformanceTest {
 protected:
  // Every PII string found in the backend's raw bytes.
  std::vector<std::string> PiiInRawBytes() {
    auto raw = backend().RawBytes();
    if (!raw.ok()) {
      ADD_FAILURE() << raw.status();
      return {};
    }
    // A value every backend keeps searchable in the clear: proves the
    // bytes are the store's, so finding no PII in them means something.
    EXPECT_NE(raw->find(ReportId("a")), std::string::npos) << "RawBytes misses the store's data";
    std::vector<std::string> found;
    for (const auto& pii : AllPii()) {
      if (raw->find(pii) != std::string::npos) found.push_back(pii);
    }
    return found;
  }
};
HART_STORE_CONFORMANCE_SUITE(SealingConformanceTest);

// Verifies intakes (as created and as changed), feed reads and ack notes
// leave no plaintext PII in anything the backend persists, WAL included,
// while the store still returns it.
TEST_P(SealingConformanceTest, PersistedBytesHoldNoPlaintextPii) {
  ASSERT_OK(Create(Referral("a", {"hartford-pd", "dcf-careline"})));
  ASSERT_OK_AND_ASSIGN(auto stored, store().GetReferral(ReferralId("a")));
  ReferralChange change = ChangeOf(stored, kT0 + absl::Minutes(1));
  change.intake.mutable_concern()->set_narrative(std::string(kNarrative) + " Update follows.");
  ASSERT_OK(store().ApplyReferralChange(change));
  ASSERT_OK(ClaimAndAppend(kT0 + absl::Minutes(2)));
  ASSERT_OK(store().ApplyAck(Ack(DeliveryId("a", "hartford-pd"), v1::Acknowledgement::DECLINED,
                                 v1::IN_FLIGHT, v1::DECLINED, kT0 + absl::Minutes(3), kAckNote)));

  // Readable through the store...
  EXPECT_EQ(MUST(store().GetReferral(ReferralId("a"))).intake.child().given_name(),
            kChildGivenName);
  EXPECT_EQ(MUST(store().ReadFeed("hartford-pd", 0, 10)).at(0).intake.reporter().phone(),
            kReporterPhone);
  EXPECT_EQ(MUST(store().GetDeliveries(ReferralId("a"))).at(0).acks.at(0).note(), kAckNote);
  // ...and nowhere in the raw bytes, with the store open and after a restart.
  EXPECT_THAT(PiiInRawBytes(), IsEmpty());
  ASSERT_OK(Reopen());
  EXPECT_THAT(PiiInRawBytes(), IsEmpty());
}

TEST_P(SealingConformanceTest, ASealedReferralReturnsAnEmptyIntakeAndNoNotes) {
  ASSERT_OK(Create(Referral("a")));
  ASSERT_OK(ClaimAndAppend(kT0));
  ASSERT_OK(store().ApplyAck(Ack(DeliveryId("a", "hartford-pd"), v1::Acknowledgement::DECLINED,
                                 v1::IN_FLIGHT, v1::DECLINED, kT0, kAckNote)));
  ASSERT_OK(store().SealReferral(Seal(ReferralId("a"), kT0 + absl::Hours(1))));

  ASSERT_OK_AND_ASSIGN(auto sealed, store().GetReferral(ReferralId("a")));
  EXPECT_EQ(sealed.sealed_at, kT0 + absl::Hours(1));
  EXPECT_EQ(sealed.intake.ByteSizeLong(), 0u) << sealed.intake.ShortDebugString();
  EXPECT_EQ(sealed.careline_report_id, ReportId("a"));  // the report itself stays known
  ASSERT_OK_AND_ASSIGN(auto deliveries, store().GetDeliveries(ReferralId("a")));
  ASSERT_EQ(deliveries.at(0).acks.size(), 1u);
  EXPECT_TRUE(deliveries[0].acks[0].note().empty());
  ASSERT_OK_AND_ASSIGN(auto feed, store().ReadFeed("hartford-pd", 0, 10));
  ASSERT_EQ(feed.size(), 1u);
  EXPECT_TRUE(feed[0].sealed);
  EXPECT_EQ(feed[0].intake.ByteSizeLong(), 0u);
  // Still sealed after a restart.
  ASSERT_OK(Reopen());
  EXPECT_EQ(MUST(store().GetReferral(ReferralId("a"))).intake.ByteSizeLong(), 0u);
}

TEST_P(SealingConformanceTest, SealingTwiceIsFailedPreconditionAndWritesNothing) {
  ASSERT_OK(Create(Referral("a")));
  ASSERT_OK(store().SealReferral(Seal(ReferralId("a"), kT0 + absl::Hours(1))));
  ASSERT_OK_AND_ASSIGN(auto head, store().AuditHead());
  SealWrite again = Seal(ReferralId("a"), kT0 + absl::Hours(2));
  DeliveryRecord notice = Delivery(ReferralId("a"), "dlv_erasure_again", "hartford-pd", kT0);
  notice.kind = v1::ERASURE;
  again.notices.push_back(notice);
  EXPECT_EQ(STATUS_CODE(store().SealReferral(again)), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(MUST(store().AuditHead()).size, head.size);
  EXPECT_EQ(STATUS_CODE(store().GetDelivery("dlv_erasure_again")), absl::StatusCode::kNotFound);
  EXPECT_EQ(MUST(store().GetReferral(ReferralId("a"))).sealed_at, kT0 + absl::Hours(1));
}

// A change read before the seal (a supplement in progress) must not write
// an intake back after it: a sealed referral takes no change.
TEST_P(SealingConformanceTest, AChangeReadBeforeTheSealIsRefusedAfterIt) {
  ASSERT_OK(Create(Referral("a")));
  ASSERT_OK_AND_ASSIGN(auto before, store().GetReferral(ReferralId("a")));
  ASSERT_OK(store().SealReferral(Seal(ReferralId("a"), kT0 + absl::Hours(1))));
  EXPECT_EQ(STATUS_CODE(store().ApplyReferralChange(ChangeOf(before, kT0 + absl::Hours(2)))),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_OK_AND_ASSIGN(auto after, store().GetReferral(ReferralId("a")));
  EXPECT_EQ(after.intake.ByteSizeLong(), 0u);
  // Nor with the version it has now.
  EXPECT_EQ(STATUS_CODE(store().ApplyReferralChange(ChangeOf(after, kT0 + absl::Hours(2)))),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(MUST(store().GetReferral(ReferralId("a"))).intake.ByteSizeLong(), 0u);
}

// Verifies deliveries that never left (pending, or claimed and not handed
// off) become SEALED; those already with the partner keep their state.
TEST_P(SealingConformanceTest, SealingStopsDeliveriesNotYetHandedOff) {
  NewReferral a = Referral("a", {"pending", "claimed", "on-feed", "delivered"});
  a.deliveries[0].next_attempt_at = kT0 + absl::Hours(1);  // not due at kT0
  ASSERT_OK(Create(a));
  ASSERT_OK_AND_ASSIGN(auto claimed, Claim(kT0, kT0 + absl::Hours(1)));
  ASSERT_EQ(claimed.size(), 3u);
  for (const auto& d : claimed) {
    if (d.agency_id == "on-feed") {
      const FeedAppend append = FeedAppendFor(d);
      ASSERT_OK(store().AppendToFeeds({&append, 1}, kT0));
    } else if (d.agency_id == "delivered") {
      const DeliveryOutcome delivered = Delivered(d, kT0, "smtp:<1@x>");
      ASSERT_OK(store().RecordOutcomes({&delivered, 1}));
    }
  }
  ASSERT_OK_AND_ASSIGN(auto result,
                       store().SealReferral(Seal(ReferralId("a"), kT0 + absl::Minutes(1))));
  EXPECT_EQ(result.stopped_deliveries, 2u);
  auto state = [&](const std::string& agency) {
    return StateOf(DeliveryId("a", agency)).value_or(v1::DELIVERY_STATE_UNSPECIFIED);
  };
  EXPECT_EQ(state("pending"), v1::SEALED);
  EXPECT_EQ(state("claimed"), v1::SEALED);
  EXPECT_EQ(state("on-feed"), v1::IN_FLIGHT);
  EXPECT_EQ(state("delivered"), v1::DELIVERED);
  EXPECT_THAT(MUST(Claim(kT0 + absl::Hours(48), kT0 + absl::Hours(49))), IsEmpty());
}

TEST_P(SealingConformanceTest, SealingStopsPendingTimersAndStoresItsNotices) {
  NewReferral a = Referral("a");
  a.timers.push_back(RerouteTimer(ReferralId("a"), "tmr_reroute", kT0 + absl::Hours(72)));
  a.timers.push_back(LadderTimer(a.deliveries[0], "tmr_ladder", 1, kT0 + absl::Hours(4)));
  ASSERT_OK(Create(a));
  ASSERT_OK(ClaimAndAppend(kT0));  // on the feed: the agency must be told
  SealWrite seal = Seal(ReferralId("a"), kT0 + absl::Hours(1));
  DeliveryRecord notice =
      Delivery(ReferralId("a"), "dlv_erasure", "hartford-pd", kT0 + absl::Hours(1));
  notice.kind = v1::ERASURE;
  notice.erasure.emplace();
  notice.erasure->set_referral_id(ReferralId("a"));
  seal.notices.push_back(notice);
  seal.audit.push_back(Event("delivery.created", ReferralId("a"), "dlv_erasure", seal.at));
  ASSERT_OK_AND_ASSIGN(auto head, store().AuditHead());
  ASSERT_OK(store().SealReferral(seal));

  EXPECT_THAT(MUST(store().PendingTimers(ReferralId("a"))), IsEmpty());
  EXPECT_THAT(MUST(ClaimTimers(kT0 + absl::Hours(100), kT0 + absl::Hours(101))), IsEmpty());
  ASSERT_OK_AND_ASSIGN(auto stored_notice, store().GetDelivery("dlv_erasure"));
  EXPECT_EQ(stored_notice.kind, v1::ERASURE);
  EXPECT_EQ(stored_notice.state, v1::PENDING);
  ASSERT_TRUE(stored_notice.erasure.has_value());
  EXPECT_EQ(stored_notice.erasure->referral_id(), ReferralId("a"));
  EXPECT_EQ(MUST(store().AuditHead()).size, head.size + seal.audit.size());
  // The notice is the only work left.
  EXPECT_EQ(store().NextDueTime({}).value_or(std::nullopt), kT0 + absl::Hours(1));
}

// Verifies sealing rewrites no audit event: the tree still verifies.
TEST_P(SealingConformanceTest, TheAuditTreeStillVerifiesAfterSealing) {
  ASSERT_OK(Create(Referral("a")));
  ASSERT_OK_AND_ASSIGN(auto before, AllAuditEvents());
  ASSERT_OK(store().SealReferral(Seal(ReferralId("a"), kT0 + absl::Hours(1))));
  ASSERT_OK_AND_ASSIGN(auto after, AllAuditEvents());
  ASSERT_EQ(after.size(), before.size() + 1);
  audit::CompactRange reference;
  for (size_t i = 0; i < after.size(); ++i) {
    if (i < before.size()) {
      EXPECT_EQ(after[i].leaf_hash, before[i].leaf_hash) << i;
    }
    ASSERT_OK(reference.Append(after[i].leaf_hash));
  }
  EXPECT_EQ(MUST(store().AuditHead()).root_hash, reference.RootHash());
}

TEST_P(SealingConformanceTest, RewrapFindsNothingWhenEveryKeyIsCurrent) {
  ASSERT_OK(Create(Referral("a")));
  ASSERT_OK(Create(Referral("b")));
  ASSERT_OK(store().SealReferral(Seal(ReferralId("b"), kT0)));
  EXPECT_EQ(store().RewrapDataKeys().value_or(99), 0u);
}

}  // namespace
}  // namespace hart::conformance
