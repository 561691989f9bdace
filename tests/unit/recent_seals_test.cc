// RecentSeals and the check a feed subscription makes before writing an
// event it built earlier: facts of a referral whose seal began after the
// event's page was read must not go out.
#include "broker/feed/recent_seals.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <string>

namespace hart::feed {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
namespace v1 = ::hart::referral::v1;

v1::FeedEvent Delivery(const std::string& referral_id, bool with_facts) {
  v1::FeedEvent event;
  v1::ReferralView* view = event.mutable_delivery()->mutable_referral();
  view->set_referral_id(referral_id);
  if (with_facts) {
    view->mutable_intake();  // trimmed to nothing, still an intake
  } else {
    view->set_sealed(true);
  }
  return event;
}

// A whole seal: its beginning and its end.
void Seal(RecentSeals& seals, const std::string& referral_id) {
  seals.Begin(referral_id);
  seals.End(referral_id);
}

TEST(RecentSealsTest, NotesAreAnsweredByGeneration) {
  RecentSeals seals;
  EXPECT_EQ(seals.generation(), 0u);
  EXPECT_THAT(*seals.NotedSince(0), IsEmpty());
  Seal(seals, "ref_A");
  Seal(seals, "ref_B");
  EXPECT_EQ(seals.generation(), 4u);
  EXPECT_EQ(seals.ReadFloor(), 4u);
  EXPECT_THAT(*seals.NotedSince(0), ElementsAre("ref_A", "ref_A", "ref_B", "ref_B"));
  EXPECT_THAT(*seals.NotedSince(2), ElementsAre("ref_B", "ref_B"));
  EXPECT_THAT(*seals.NotedSince(4), IsEmpty());
}

TEST(RecentSealsTest, TheReadFloorStaysBeforeTheOldestSealUnderWay) {
  RecentSeals seals;
  seals.Begin("ref_A");  // generation 1
  EXPECT_EQ(seals.ReadFloor(), 0u);
  seals.Begin("ref_B");  // 2
  EXPECT_EQ(seals.ReadFloor(), 0u);
  seals.End("ref_A");  // 3: B, begun at 2, is still under way
  EXPECT_EQ(seals.ReadFloor(), 1u);
  seals.End("ref_B");  // 4
  EXPECT_EQ(seals.ReadFloor(), 4u);
}

TEST(RecentSealsTest, AGenerationOlderThanTheNotesKeptIsAnsweredWithNothingKnown) {
  RecentSeals seals;
  const uint64_t seals_made = RecentSeals::kKept / 2 + 1;  // two notes each
  for (uint64_t i = 1; i <= seals_made; ++i) Seal(seals, "ref_" + std::to_string(i));
  const uint64_t notes = seals.generation();
  ASSERT_EQ(notes, RecentSeals::kKept + 2);
  EXPECT_FALSE(seals.NotedSince(0).has_value());
  EXPECT_FALSE(seals.NotedSince(1).has_value());
  // Notes 3 onwards are kept: everything after generation 2 is known.
  ASSERT_TRUE(seals.NotedSince(2).has_value());
  EXPECT_EQ(seals.NotedSince(2)->size(), RecentSeals::kKept);
  EXPECT_THAT(*seals.NotedSince(notes - 1),
              ElementsAre("ref_" + std::to_string(seals_made)));
}

TEST(RecentSealsTest, OnlyFactsOfAReferralNotedAfterThePageWasReadAreHeldBack) {
  RecentSeals seals;
  Seal(seals, "ref_OLD");  // before the page was read: what it read is sealed already
  const uint64_t read_at = seals.ReadFloor();
  std::deque<v1::FeedEvent> page = {Delivery("ref_OLD", true), Delivery("ref_A", true),
                                     Delivery("ref_B", false)};
  page.emplace_back().mutable_heartbeat();
  EXPECT_FALSE(CarriesFactsSealedSince(seals, read_at, page));
  Seal(seals, "ref_C");  // not on this page
  EXPECT_FALSE(CarriesFactsSealedSince(seals, read_at, page));
  Seal(seals, "ref_B");  // on it, but without facts (a notice)
  EXPECT_FALSE(CarriesFactsSealedSince(seals, read_at, page));
  seals.Begin("ref_A");  // on it with its facts: held back from the seal's start
  EXPECT_TRUE(CarriesFactsSealedSince(seals, read_at, page));
  seals.End("ref_A");
  EXPECT_TRUE(CarriesFactsSealedSince(seals, read_at, page));
  // A page read after all these notes is not held back.
  EXPECT_FALSE(CarriesFactsSealedSince(seals, seals.ReadFloor(), page));
}

// The seal's write may not have committed when a page is read: the page
// may then hold the referral's facts, and its floor makes it held back.
TEST(RecentSealsTest, APageReadWhileASealIsUnderWayIsHeldBack) {
  RecentSeals seals;
  seals.Begin("ref_A");
  const uint64_t read_at = seals.ReadFloor();  // the page is read now
  const std::deque<v1::FeedEvent> page = {Delivery("ref_A", true)};
  EXPECT_TRUE(CarriesFactsSealedSince(seals, read_at, page));
  seals.End("ref_A");
  EXPECT_TRUE(CarriesFactsSealedSince(seals, read_at, page));
}

// Another replica's seal hints were lost: any page read before is held
// back if it carries facts; pages read after are not.
TEST(RecentSealsTest, AfterForgetAllEveryEarlierPageWithFactsIsHeldBack) {
  RecentSeals seals;
  const uint64_t read_before = seals.ReadFloor();
  const std::deque<v1::FeedEvent> page = {Delivery("ref_A", true)};
  const std::deque<v1::FeedEvent> notice = {Delivery("ref_A", false)};
  seals.ForgetAll();
  EXPECT_TRUE(CarriesFactsSealedSince(seals, read_before, page));
  EXPECT_FALSE(CarriesFactsSealedSince(seals, read_before, notice));
  EXPECT_FALSE(CarriesFactsSealedSince(seals, seals.ReadFloor(), page));
  Seal(seals, "ref_B");
  EXPECT_TRUE(CarriesFactsSealedSince(seals, read_before, page));
}

TEST(RecentSealsTest, APageOlderThanTheNotesKeptIsHeldBack) {
  RecentSeals seals;
  const std::deque<v1::FeedEvent> page = {Delivery("ref_A", true)};
  for (size_t i = 0; i <= RecentSeals::kKept / 2; ++i) Seal(seals, "ref_OTHER");
  EXPECT_TRUE(CarriesFactsSealedSince(seals, 0, page));
}

}  // namespace
}  // namespace hart::feed
