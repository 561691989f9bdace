// The Store contract for the audit log: an RFC 6962 tree over the events,
// checked against a reference computed here from the listed leaves with the
// in-memory code of broker/audit (never through the store).
#include "broker/audit/audit_entry.h"
#include "broker/audit/audit_tree_writer.h"
#include "broker/audit/merkle_tree.h"
#include "tests/store/conformance_fixture.h"
#include "tests/store/reference_tree.h"

namespace hart::conformance {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class AuditConformanceTest : public StoreConformanceTest {
 protected:
  // A mix of every kind of write that audits: referrals, a bare audit
  // append, claims put on feeds, acks, outcomes, an escalation.
  void WriteHistory(const std::string& prefix) {
    for (const char* key : {"a", "b", "c"}) {
      ASSERT_OK(Create(Referral(prefix + key, {"hartford-pd", "dcf-careline"})));
    }
    const std::vector<AuditEvent> bare = {Event("intake.rejected", ""),
                                          Event("referral.read", ReferralId(prefix + "a"))};
    ASSERT_OK(store().AppendAudit(bare));
    ASSERT_OK_AND_ASSIGN(auto claimed, Claim(kT0, kT0 + absl::Minutes(1)));
    std::vector<FeedAppend> appends;
    std::vector<DeliveryOutcome> outcomes;
    for (const auto& d : claimed) {
      if (d.agency_id == "hartford-pd") {
        appends.push_back(FeedAppendFor(d));
      } else {
        outcomes.push_back(RetryLater(d, kT0, kT0 + absl::Minutes(5)));
      }
    }
    ASSERT_OK(store().AppendToFeeds(appends, kT0));
    ASSERT_OK(store().RecordOutcomes(outcomes));
    ASSERT_OK(store().ApplyAck(Received(DeliveryId(prefix + "a", "hartford-pd"), kT0)));
  }

  // The reference tree over the leaf hashes the store lists.
  absl::StatusOr<InMemoryLeaves> ReferenceTree() {
    auto events = AllAuditEvents();
    if (!events.ok()) return events.status();
    std::vector<std::string> leaves;
    for (const auto& e : *events) leaves.push_back(e.leaf_hash);
    return InMemoryLeaves(std::move(leaves));
  }
};
HART_STORE_CONFORMANCE_SUITE(AuditConformanceTest);

TEST_P(AuditConformanceTest, AnEmptyLogHasTheEmptyTreeHead) {
  ASSERT_OK_AND_ASSIGN(auto head, store().AuditHead());
  EXPECT_EQ(head.size, 0u);
  EXPECT_EQ(head.root_hash, audit::EmptyTreeHash());
}

// Verifies events are listed gap-free from 0, and each leaf hash is the
// canonical hash of the event as listed (so the tree commits to exactly
// what the store returns).
TEST_P(AuditConformanceTest, EveryLeafIsTheCanonicalHashOfItsEvent) {
  ASSERT_NO_FATAL_FAILURE(WriteHistory(""));
  ASSERT_OK_AND_ASSIGN(auto events, AllAuditEvents());
  ASSERT_GE(events.size(), 16u);
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].index, i);
    EXPECT_EQ(events[i].leaf_hash, audit::EntryLeafHash(audit::ToEntry(i, events[i]))) << i;
    EXPECT_EQ(store().AuditLeafHash(i).value_or(""), events[i].leaf_hash) << i;
  }
  EXPECT_EQ(STATUS_CODE(store().AuditLeafHash(events.size())), absl::StatusCode::kNotFound);
}

TEST_P(AuditConformanceTest, TheHeadIsTheRfc6962RootOfTheListedLeaves) {
  ASSERT_NO_FATAL_FAILURE(WriteHistory(""));
  ASSERT_OK_AND_ASSIGN(auto reference, ReferenceTree());
  ASSERT_OK_AND_ASSIGN(auto root, audit::SubtreeRoot(reference, 0, reference.size()));
  ASSERT_OK_AND_ASSIGN(auto head, store().AuditHead());
  EXPECT_EQ(head.size, reference.size());
  EXPECT_EQ(head.root_hash, root);
}

// Verifies every complete perfect subtree from kMinStoredSubtreeHeight up
// is stored with the reference hash, lower ones are left to be computed from
// their leaves, and incomplete ones are not reported.
TEST_P(AuditConformanceTest, CompleteSubtreesAreStoredWithTheirReferenceHash) {
  ASSERT_NO_FATAL_FAILURE(WriteHistory(""));
  ASSERT_OK_AND_ASSIGN(auto reference, ReferenceTree());
  const uint64_t n = reference.size();
  ASSERT_GE(n, uint64_t{1} << audit::kMinStoredSubtreeHeight);
  for (uint32_t height = 1; (uint64_t{1} << height) <= n; ++height) {
    for (uint64_t index = 0; ((index + 1) << height) <= n; ++index) {
      ASSERT_OK_AND_ASSIGN(auto stored, store().AuditSubtreeHash(height, index));
      if (height < audit::kMinStoredSubtreeHeight) {
        EXPECT_FALSE(stored.has_value()) << "height " << height << " index " << index;
        continue;
      }
      ASSERT_OK_AND_ASSIGN(auto want,
                           audit::SubtreeRoot(reference, index << height, (index + 1) << height));
      ASSERT_TRUE(stored.has_value()) << "height " << height << " index " << index;
      EXPECT_EQ(*stored, want) << "height " << height << " index " << index;
    }
  }
  // The subtree that would end past the last leaf is not complete.
  uint32_t height = 1;
  while ((uint64_t{1} << height) <= n) ++height;
  EXPECT_FALSE(MUST(store().AuditSubtreeHash(height, 0)).has_value());
  if (n % 2 == 1) {
    EXPECT_FALSE(MUST(store().AuditSubtreeHash(1, n / 2)).has_value());
  }
}

TEST_P(AuditConformanceTest, AppendAuditStoresEveryFieldAsTheNextLeaves) {
  ASSERT_OK(Create(Referral("a")));
  ASSERT_OK_AND_ASSIGN(auto head, store().AuditHead());
  AuditEvent event = Event("supervisor.viewed", ReferralId("a"), DeliveryId("a", "hartford-pd"),
                           kT0 + absl::Milliseconds(1500));
  event.actor = "supervisor/pat";
  event.payload_sha256 = std::string(32, '\x01');
  event.detail = "view=timeline";
  const std::vector<AuditEvent> events = {event, Event("second", "")};
  ASSERT_OK(store().AppendAudit(events));
  ASSERT_OK_AND_ASSIGN(auto listed, store().ListAuditEvents({.start_index = head.size}));
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].index, head.size);
  EXPECT_EQ(listed[0].at, event.at);
  EXPECT_EQ(listed[0].actor, event.actor);
  EXPECT_EQ(listed[0].action, event.action);
  EXPECT_EQ(listed[0].referral_id, event.referral_id);
  EXPECT_EQ(listed[0].delivery_id, event.delivery_id);
  EXPECT_EQ(listed[0].payload_sha256, event.payload_sha256);
  EXPECT_EQ(listed[0].detail, event.detail);
  EXPECT_EQ(listed[1].index, head.size + 1);
  EXPECT_EQ(listed[1].action, "second");
}

TEST_P(AuditConformanceTest, ListAuditEventsFiltersAndPages) {
  ASSERT_OK(Create(Referral("a")));  // 2 events, at kT0
  ASSERT_OK(Create(Referral("b")));  // 2 events, at kT0
  AuditEvent late = Event("late", ReferralId("a"), "", kT0 + absl::Hours(1));
  late.actor = "supervisor/pat";
  ASSERT_OK(store().AppendAudit({&late, 1}));  // index 4
  // The broker's own events: SQLite's audit_by_actor leaves them out, and
  // they are listed by actor all the same.
  std::vector<AuditEvent> own = {Event("delivery.sent", ReferralId("b"), "", kT0),
                                 Event("delivery.sent", ReferralId("a"), "", kT0)};
  for (auto& e : own) e.actor = kBrokerActor;
  ASSERT_OK(store().AppendAudit(own));  // indexes 5, 6

  auto indexes = [&](const AuditQuery& q) {
    std::vector<uint64_t> out;
    for (const auto& e : store().ListAuditEvents(q).value_or(std::vector<AuditEvent>{})) {
      out.push_back(e.index);
    }
    return out;
  };
  EXPECT_THAT(indexes({.referral_id = ReferralId("a")}), ElementsAre(0, 1, 4, 6));
  EXPECT_THAT(indexes({.delivery_id = DeliveryId("b", "hartford-pd")}), ElementsAre(3));
  EXPECT_THAT(indexes({.actor = "supervisor/pat"}), ElementsAre(4));
  EXPECT_THAT(indexes({.actor = kBrokerActor}), ElementsAre(5, 6));
  EXPECT_THAT(indexes({.actor = kBrokerActor, .start_index = 6}), ElementsAre(6));
  EXPECT_THAT(indexes({.referral_id = ReferralId("a"), .actor = kBrokerActor}), ElementsAre(6));
  EXPECT_THAT(indexes({.from = kT0 + absl::Minutes(1)}), ElementsAre(4));
  EXPECT_THAT(indexes({.to = kT0 + absl::Hours(1)}), ElementsAre(0, 1, 2, 3, 5, 6));
  EXPECT_THAT(indexes({.start_index = 2, .limit = 2}), ElementsAre(2, 3));
  EXPECT_THAT(indexes({.referral_id = ReferralId("a"), .start_index = 2}), ElementsAre(4, 6));
  EXPECT_THAT(indexes({.start_index = 7}), IsEmpty());
}

// A delivery's events are those that name it, whether they also name its
// referral or no referral at all (an acknowledgement denied before its
// delivery was looked up), in log order and paged like any listing.
TEST_P(AuditConformanceTest, ADeliverysEventsAreListedWhetherTheyNameItsReferralOrNone) {
  ASSERT_OK(Create(Referral("a")));  // 0, 1 (1: a's delivery)
  ASSERT_OK(Create(Referral("b")));  // 2, 3 (3: b's delivery)
  const std::string a_delivery = DeliveryId("a", "hartford-pd");
  const std::string b_delivery = DeliveryId("b", "hartford-pd");
  const std::vector<AuditEvent> later = {
      Event("access.denied", "", b_delivery),                            // 4
      Event("delivery.acknowledged", ReferralId("b"), b_delivery),       // 5
      Event("delivery.acknowledged", ReferralId("a"), a_delivery),       // 6
      Event("access.denied", "", a_delivery),                            // 7
      Event("access.denied", "", "dlv_never_made")};                     // 8
  ASSERT_OK(store().AppendAudit(later));

  auto indexes = [&](const AuditQuery& q) {
    std::vector<uint64_t> out;
    for (const auto& e : store().ListAuditEvents(q).value_or(std::vector<AuditEvent>{})) {
      out.push_back(e.index);
    }
    return out;
  };
  EXPECT_THAT(indexes({.delivery_id = b_delivery}), ElementsAre(3, 4, 5));
  EXPECT_THAT(indexes({.delivery_id = a_delivery}), ElementsAre(1, 6, 7));
  EXPECT_THAT(indexes({.delivery_id = b_delivery, .limit = 2}), ElementsAre(3, 4));
  EXPECT_THAT(indexes({.delivery_id = b_delivery, .start_index = 4}), ElementsAre(4, 5));
  EXPECT_THAT(indexes({.delivery_id = "dlv_never_made"}), ElementsAre(8));
  EXPECT_THAT(indexes({.referral_id = ReferralId("b"), .delivery_id = b_delivery}),
              ElementsAre(3, 5));
  EXPECT_THAT(indexes({.referral_id = ReferralId("b")}), ElementsAre(2, 3, 5));
  EXPECT_THAT(indexes({.referral_id = ReferralId("b"), .start_index = 3, .limit = 1}),
              ElementsAre(3));
}

TEST_P(AuditConformanceTest, ACheckpointIsStoredOncePerTreeSize) {
  ASSERT_NO_FATAL_FAILURE(WriteHistory(""));
  ASSERT_OK_AND_ASSIGN(auto head, store().AuditHead());
  const v1::Checkpoint later = Checkpoint(head.size, head.root_hash, kT0 + absl::Minutes(5));
  const v1::Checkpoint earlier = Checkpoint(4, "root-of-four-leaves-000000000000", kT0);
  ASSERT_OK(store().AppendCheckpoint(later));
  ASSERT_OK(store().AppendCheckpoint(earlier));
  v1::Checkpoint resigned = later;
  resigned.set_signature(std::string(64, '\x08'));
  EXPECT_EQ(STATUS_CODE(store().AppendCheckpoint(resigned)), absl::StatusCode::kAlreadyExists);

  ASSERT_OK_AND_ASSIGN(auto checkpoints, store().ListCheckpoints());
  ASSERT_EQ(checkpoints.size(), 2u);
  EXPECT_EQ(checkpoints[0].SerializeAsString(), earlier.SerializeAsString());
  EXPECT_EQ(checkpoints[1].SerializeAsString(), later.SerializeAsString());
}

// Verifies the tree, its subtrees and checkpoints survive a restart, and
// appends after it continue the same tree.
TEST_P(AuditConformanceTest, TheTreeSurvivesARestartAndKeepsGrowingCorrectly) {
  ASSERT_NO_FATAL_FAILURE(WriteHistory("before_"));
  ASSERT_OK_AND_ASSIGN(auto head, store().AuditHead());
  ASSERT_OK(store().AppendCheckpoint(Checkpoint(head.size, head.root_hash, kT0)));
  ASSERT_OK(Reopen());
  ASSERT_OK_AND_ASSIGN(auto reopened, store().AuditHead());
  EXPECT_EQ(reopened.size, head.size);
  EXPECT_EQ(reopened.root_hash, head.root_hash);
  EXPECT_EQ(MUST(store().ListCheckpoints()).size(), 1u);

  ASSERT_NO_FATAL_FAILURE(WriteHistory("after_"));
  ASSERT_OK_AND_ASSIGN(auto reference, ReferenceTree());
  ASSERT_OK_AND_ASSIGN(auto root, audit::SubtreeRoot(reference, 0, reference.size()));
  ASSERT_OK_AND_ASSIGN(auto grown, store().AuditHead());
  EXPECT_EQ(grown.size, reference.size());
  EXPECT_EQ(grown.root_hash, root);
  // The old head is a prefix of the new tree.
  ASSERT_OK_AND_ASSIGN(auto old_root, audit::SubtreeRoot(reference, 0, head.size));
  EXPECT_EQ(old_root, head.root_hash);
  ASSERT_OK_AND_ASSIGN(auto largest, audit::SubtreeRoot(reference, 0, 32));
  ASSERT_GE(reference.size(), 32u);
  EXPECT_EQ(store().AuditSubtreeHash(5, 0).value_or(std::nullopt), largest);
}

}  // namespace
}  // namespace hart::conformance
