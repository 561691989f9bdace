// The Store contract for agencies' feeds: gap-free per-agency sequences,
// idempotent appends, paging, and the entries still awaiting RECEIVED.
#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "broker/feed/feed_reference.h"
#include "tests/store/conformance_fixture.h"

namespace hart::conformance {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;

class FeedConformanceTest : public StoreConformanceTest {};
HART_STORE_CONFORMANCE_SUITE(FeedConformanceTest);

std::vector<uint64_t> SequencesOf(const std::vector<FeedEntry>& entries) {
  std::vector<uint64_t> sequences;
  for (const auto& e : entries) sequences.push_back(e.sequence);
  return sequences;
}

std::vector<uint64_t> OneTo(uint64_t n) {
  std::vector<uint64_t> sequences;
  for (uint64_t i = 1; i <= n; ++i) sequences.push_back(i);
  return sequences;
}

// Verifies each agency's sequence runs 1..n in append order, across
// several appends interleaving agencies.
TEST_P(FeedConformanceTest, EachAgencysSequenceRunsOneToNInAppendOrder) {
  const std::vector<std::string> agencies = {"hartford-pd", "dcf-careline", "ct-ncmec"};
  std::map<std::string, std::vector<std::string>> appended_ids;  // per agency, in append order
  std::map<std::string, std::vector<uint64_t>> sequences;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 2; ++i) {
      const std::string key = "r" + std::to_string(round) + "_" + std::to_string(i);
      // Round 1 leaves out an agency, so the agencies' feeds grow unevenly.
      ASSERT_OK(Create(Referral(
          key, round == 1 ? std::vector<std::string>{"hartford-pd", "ct-ncmec"} : agencies)));
    }
    ASSERT_OK_AND_ASSIGN(auto results, ClaimAndAppend(kT0));
    for (const auto& r : results) {
      appended_ids[r.agency_id].push_back(r.delivery_id);
      sequences[r.agency_id].push_back(r.sequence);
    }
  }
  for (const auto& agency : agencies) {
    const uint64_t n = appended_ids[agency].size();
    EXPECT_EQ(n, agency == "dcf-careline" ? 4u : 6u) << agency;
    EXPECT_THAT(sequences[agency], ElementsAreArray(OneTo(n))) << agency;
    EXPECT_EQ(store().FeedHead(agency).value_or(0), n) << agency;
    ASSERT_OK_AND_ASSIGN(auto feed, store().ReadFeed(agency, 0, 100));
    EXPECT_THAT(SequencesOf(feed), ElementsAreArray(OneTo(n))) << agency;
    std::vector<std::string> feed_ids;
    for (const auto& e : feed) {
      feed_ids.push_back(e.delivery.delivery_id);
      EXPECT_EQ(e.delivery.agency_id, agency);
    }
    EXPECT_EQ(feed_ids, appended_ids[agency]) << agency;
  }
}

// Verifies appending a delivery already on its feed keeps its sequence,
// advances no head and writes no audit event; new ones in the same call
// still get the next numbers.
TEST_P(FeedConformanceTest, AppendingAgainKeepsTheOriginalSequence) {
  ASSERT_OK(Create(Referral("a", {"hartford-pd"})));
  ASSERT_OK(Create(Referral("b", {"hartford-pd"})));
  ASSERT_OK_AND_ASSIGN(auto claimed, Claim(kT0, kT0 + absl::Minutes(1)));
  ASSERT_EQ(claimed.size(), 2u);
  const FeedAppend first = FeedAppendFor(claimed[0]);
  const FeedAppend second = FeedAppendFor(claimed[1]);
  ASSERT_OK_AND_ASSIGN(auto original, store().AppendToFeeds({&first, 1}, kT0));
  ASSERT_EQ(original.size(), 1u);
  EXPECT_EQ(original[0].sequence, 1u);
  ASSERT_OK_AND_ASSIGN(auto head, store().AuditHead());

  ASSERT_OK_AND_ASSIGN(auto repeat, store().AppendToFeeds({&first, 1}, kT0 + absl::Seconds(1)));
  ASSERT_EQ(repeat.size(), 1u);
  EXPECT_EQ(repeat[0].sequence, 1u);
  EXPECT_EQ(repeat[0].agency_id, "hartford-pd");
  EXPECT_EQ(store().FeedHead("hartford-pd").value_or(0), 1u);
  EXPECT_EQ(MUST(store().AuditHead()).size, head.size);

  const std::vector<FeedAppend> mixed = {second, first};
  ASSERT_OK_AND_ASSIGN(auto results, store().AppendToFeeds(mixed, kT0 + absl::Seconds(2)));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].sequence, 2u);
  EXPECT_EQ(results[1].sequence, 1u);
  EXPECT_EQ(store().FeedHead("hartford-pd").value_or(0), 2u);
  EXPECT_THAT(
      SequencesOf(store().ReadFeed("hartford-pd", 0, 100).value_or(std::vector<FeedEntry>{})),
      ElementsAre(1, 2));
}

TEST_P(FeedConformanceTest, AnAppendedDeliveryIsHandedOff) {
  ASSERT_OK(Create(Referral("a")));
  ASSERT_OK_AND_ASSIGN(auto results, ClaimAndAppend(kT0));
  ASSERT_EQ(results.size(), 1u);
  ASSERT_OK_AND_ASSIGN(auto d, store().GetDelivery(results[0].delivery_id));
  EXPECT_EQ(d.state, v1::IN_FLIGHT);
  EXPECT_FALSE(d.transport_ref.empty());
  EXPECT_FALSE(d.lease_until.has_value());
}

TEST_P(FeedConformanceTest, EntriesCarryTheDeliveryTheIntakeAndTheirSentEvent) {
  ASSERT_OK(Create(Referral("a")));
  ASSERT_OK_AND_ASSIGN(auto results, ClaimAndAppend(kT0 + absl::Seconds(7)));
  ASSERT_EQ(results.size(), 1u);
  ASSERT_OK_AND_ASSIGN(auto feed, store().ReadFeed("hartford-pd", 0, 10));
  ASSERT_EQ(feed.size(), 1u);
  const FeedEntry& e = feed[0];
  EXPECT_EQ(e.sequence, 1u);
  EXPECT_EQ(e.appended_at, kT0 + absl::Seconds(7));
  EXPECT_FALSE(e.sealed);
  EXPECT_EQ(e.delivery.delivery_id, DeliveryId("a", "hartford-pd"));
  EXPECT_EQ(e.delivery.state, v1::IN_FLIGHT);
  EXPECT_EQ(e.intake.child().given_name(), kChildGivenName);
  EXPECT_EQ(e.priority, v1::URGENT);
  ASSERT_OK_AND_ASSIGN(auto events,
                       store().ListAuditEvents({.start_index = e.audit_index, .limit = 1}));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].index, e.audit_index);
  EXPECT_EQ(events[0].action, "delivery.sent");
  EXPECT_EQ(events[0].delivery_id, e.delivery.delivery_id);
}

TEST_P(FeedConformanceTest, ReadFeedPagesAfterASequence) {
  for (const char* key : {"a", "b", "c", "d", "e"}) {
    ASSERT_OK(Create(Referral(key, {"hartford-pd", "other-agency"})));
  }
  ASSERT_OK(ClaimAndAppend(kT0));
  EXPECT_THAT(SequencesOf(MUST(store().ReadFeed("hartford-pd", 0, 2))), ElementsAre(1, 2));
  EXPECT_THAT(SequencesOf(MUST(store().ReadFeed("hartford-pd", 2, 2))), ElementsAre(3, 4));
  EXPECT_THAT(SequencesOf(MUST(store().ReadFeed("hartford-pd", 4, 2))), ElementsAre(5));
  EXPECT_THAT(SequencesOf(MUST(store().ReadFeed("hartford-pd", 5, 2))), IsEmpty());
  EXPECT_THAT(SequencesOf(MUST(store().ReadFeed("no-such-agency", 0, 2))), IsEmpty());
}

TEST_P(FeedConformanceTest, FeedHeadIsZeroForAnAgencyWithoutEntries) {
  ASSERT_OK(Create(Referral("a")));  // created, not yet on any feed
  EXPECT_EQ(store().FeedHead("hartford-pd").value_or(99), 0u);
  EXPECT_EQ(store().FeedHead("no-such-agency").value_or(99), 0u);
}

// Verifies only entries still IN_FLIGHT (never acknowledged RECEIVED or
// beyond) within (after, up_to] are listed.
TEST_P(FeedConformanceTest, ReadUnreceivedFeedListsOnlyEntriesStillInFlight) {
  for (const char* key : {"a", "b", "c", "d", "e"}) ASSERT_OK(Create(Referral(key)));
  ASSERT_OK_AND_ASSIGN(auto appended, ClaimAndAppend(kT0));
  ASSERT_EQ(appended.size(), 5u);
  std::map<uint64_t, std::string> by_sequence;
  for (const auto& r : appended) by_sequence[r.sequence] = r.delivery_id;
  ASSERT_OK(store().ApplyAck(Received(by_sequence[2], kT0 + absl::Seconds(1))));
  ASSERT_OK(store().ApplyAck(Accepted(by_sequence[3], v1::IN_FLIGHT, kT0 + absl::Seconds(1))));

  EXPECT_THAT(SequencesOf(MUST(store().ReadUnreceivedFeed("hartford-pd", 0, 5, 100))),
              ElementsAre(1, 4, 5));
  EXPECT_THAT(SequencesOf(MUST(store().ReadUnreceivedFeed("hartford-pd", 1, 4, 100))),
              ElementsAre(4));
  EXPECT_THAT(SequencesOf(MUST(store().ReadUnreceivedFeed("hartford-pd", 0, 5, 2))),
              ElementsAre(1, 4));
  EXPECT_THAT(SequencesOf(MUST(store().ReadUnreceivedFeed("hartford-pd", 5, 5, 100))), IsEmpty());
}

// Verifies deliveries put on their feed by CreateReferrals itself (feed
// adapters) get their sequence in the same transaction.
TEST_P(FeedConformanceTest, AReferralCanBePutOnItsFeedAsItIsCreated) {
  ASSERT_OK(Create(Referral("before")));
  ASSERT_OK(ClaimAndAppend(kT0));  // hartford-pd #1
  NewReferral a = Referral("a");
  a.deliveries[0].state = v1::IN_FLIGHT;
  a.deliveries[0].attempts = 1;
  a.deliveries[0].last_attempt_at = kT0;
  a.feed_appends.push_back(FeedAppendFor(a.deliveries[0]));
  ASSERT_OK_AND_ASSIGN(auto results, store().CreateReferrals({&a, 1}));
  ASSERT_EQ(results.size(), 1u);
  ASSERT_EQ(results[0].feed_appends.size(), 1u);
  EXPECT_EQ(results[0].feed_appends[0].delivery_id, a.deliveries[0].delivery_id);
  EXPECT_EQ(results[0].feed_appends[0].sequence, 2u);
  EXPECT_EQ(store().FeedHead("hartford-pd").value_or(0), 2u);
  ASSERT_OK_AND_ASSIGN(auto feed, store().ReadFeed("hartford-pd", 1, 10));
  ASSERT_EQ(feed.size(), 1u);
  EXPECT_EQ(feed[0].delivery.delivery_id, a.deliveries[0].delivery_id);
  // Stored already placed: the row carries its feed position.
  EXPECT_EQ(feed[0].delivery.transport_ref, feed::FormatReference("hartford-pd", 2));
  // Already handed off: no claimer takes it.
  EXPECT_THAT(MUST(Claim(kT0 + absl::Hours(1), kT0 + absl::Hours(2))), IsEmpty());
}

// Verifies an intake of a batch that took a feed sequence and was then
// refused on its own gives the sequence back: the others of the batch and
// the next batch number on from it, gap-free, and a restart agrees.
TEST_P(FeedConformanceTest, AnIntakeRefusedInABatchGivesItsFeedSequenceBack) {
  const auto placed = [](const std::string& key) {
    NewReferral r = Referral(key);
    r.deliveries[0].state = v1::IN_FLIGHT;
    r.deliveries[0].attempts = 1;
    r.deliveries[0].last_attempt_at = kT0;
    r.feed_appends.push_back(FeedAppendFor(r.deliveries[0]));
    return r;
  };
  NewReferral colliding = placed("c");  // its sequence is taken, then its delivery collides
  colliding.deliveries[0].delivery_id = DeliveryId("a", "hartford-pd");
  colliding.feed_appends[0].delivery_id = colliding.deliveries[0].delivery_id;
  std::vector<WriteRequest> batch = {placed("a"), colliding, placed("d")};
  ASSERT_OK_AND_ASSIGN(auto results, store().ApplyWrites(batch));
  ASSERT_EQ(results.size(), 3u);
  EXPECT_OK(results[0]);
  EXPECT_EQ(STATUS_CODE(results[1]), absl::StatusCode::kAlreadyExists);
  ASSERT_OK(results[2]);
  const auto& d = std::get<CreateReferralResult>(*results[2]);
  ASSERT_EQ(d.feed_appends.size(), 1u);
  EXPECT_EQ(d.feed_appends[0].sequence, 2u);
  EXPECT_EQ(store().FeedHead("hartford-pd").value_or(0), 2u);

  std::vector<WriteRequest> next = {placed("e")};
  ASSERT_OK_AND_ASSIGN(auto more, store().ApplyWrites(next));
  ASSERT_OK(more[0]);
  EXPECT_EQ(std::get<CreateReferralResult>(*more[0]).feed_appends.at(0).sequence, 3u);
  ASSERT_OK(Reopen());
  EXPECT_EQ(store().FeedHead("hartford-pd").value_or(0), 3u);
  ASSERT_OK_AND_ASSIGN(auto feed, store().ReadFeed("hartford-pd", 0, 10));
  EXPECT_THAT(SequencesOf(feed), ElementsAre(1, 2, 3));
  ASSERT_OK(Create(Referral("f")));
  ASSERT_OK_AND_ASSIGN(auto appended, ClaimAndAppend(kT0));
  ASSERT_EQ(appended.size(), 1u);
  EXPECT_EQ(appended[0].sequence, 4u);
}

TEST_P(FeedConformanceTest, FeedsSurviveARestart) {
  for (const char* key : {"a", "b"}) ASSERT_OK(Create(Referral(key)));
  ASSERT_OK(ClaimAndAppend(kT0));
  ASSERT_OK(Reopen());
  EXPECT_EQ(store().FeedHead("hartford-pd").value_or(0), 2u);
  ASSERT_OK(Create(Referral("c")));
  ASSERT_OK_AND_ASSIGN(auto results, ClaimAndAppend(kT0));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].sequence, 3u);
}

// Verifies concurrent appenders to one agency's feed still produce 1..n
// with every delivery exactly once.
TEST_P(FeedConformanceTest, ConcurrentAppendsStayGapFree) {
  for (int i = 0; i < 24; ++i) ASSERT_OK(Create(Referral("r" + std::to_string(i))));
  ASSERT_OK_AND_ASSIGN(auto claimed, Claim(kT0, kT0 + absl::Hours(1)));
  ASSERT_EQ(claimed.size(), 24u);
  absl::Mutex mu;
  std::vector<uint64_t> sequences;
  std::vector<absl::Status> errors;
  std::vector<std::thread> appenders;
  for (int t = 0; t < 4; ++t) {
    appenders.emplace_back([&, t] {
      for (size_t i = t; i < claimed.size(); i += 4) {
        const FeedAppend append = FeedAppendFor(claimed[i]);
        auto result = store().AppendToFeeds({&append, 1}, kT0);
        absl::MutexLock lock(&mu);
        if (!result.ok()) {
          errors.push_back(result.status());
        } else {
          for (const auto& r : *result) sequences.push_back(r.sequence);
        }
      }
    });
  }
  for (auto& t : appenders) t.join();
  EXPECT_THAT(errors, IsEmpty());
  std::sort(sequences.begin(), sequences.end());
  EXPECT_THAT(sequences, ElementsAreArray(OneTo(24)));
  EXPECT_THAT(SequencesOf(MUST(store().ReadFeed("hartford-pd", 0, 100))),
              ElementsAreArray(OneTo(24)));
}

}  // namespace
}  // namespace hart::conformance
