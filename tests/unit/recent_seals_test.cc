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

TEST(RecentSealsTest, NotesAreAnsweredByGeneration) {
  RecentSeals seals;
  EXPECT_EQ(seals.generation(), 0u);
  EXPECT_THAT(*seals.NotedSince(0), IsEmpty());
  seals.Note("ref_A");
  seals.Note("ref_B");
  EXPECT_EQ(seals.generation(), 2u);
  EXPECT_THAT(*seals.NotedSince(0), ElementsAre("ref_A", "ref_B"));
  EXPECT_THAT(*seals.NotedSince(1), ElementsAre("ref_B"));
  EXPECT_THAT(*seals.NotedSince(2), IsEmpty());
}

TEST(RecentSealsTest, AGenerationOlderThanTheNotesKeptIsAnsweredWithNothingKnown) {
  RecentSeals seals;
  const uint64_t notes = RecentSeals::kKept + 2;
  for (uint64_t i = 1; i <= notes; ++i) seals.Note("ref_" + std::to_string(i));
  EXPECT_FALSE(seals.NotedSince(0).has_value());
  EXPECT_FALSE(seals.NotedSince(1).has_value());
  // Notes 3 onwards are kept: everything after generation 2 is known.
  ASSERT_TRUE(seals.NotedSince(2).has_value());
  EXPECT_EQ(seals.NotedSince(2)->size(), RecentSeals::kKept);
  EXPECT_THAT(*seals.NotedSince(notes - 1), ElementsAre("ref_" + std::to_string(notes)));
}

TEST(RecentSealsTest, OnlyFactsOfAReferralNotedAfterThePageWasReadAreHeldBack) {
  RecentSeals seals;
  seals.Note("ref_OLD");  // before the page was read: what it read is sealed already
  const uint64_t read_at = seals.generation();
  std::deque<v1::FeedEvent> page = {Delivery("ref_OLD", true), Delivery("ref_A", true),
                                     Delivery("ref_B", false)};
  page.emplace_back().mutable_heartbeat();
  EXPECT_FALSE(CarriesFactsSealedSince(seals, read_at, page));
  seals.Note("ref_C");  // not on this page
  EXPECT_FALSE(CarriesFactsSealedSince(seals, read_at, page));
  seals.Note("ref_B");  // on it, but without facts (a notice)
  EXPECT_FALSE(CarriesFactsSealedSince(seals, read_at, page));
  seals.Note("ref_A");  // on it with its facts
  EXPECT_TRUE(CarriesFactsSealedSince(seals, read_at, page));
  // A page read after all these notes is not held back.
  EXPECT_FALSE(CarriesFactsSealedSince(seals, seals.generation(), page));
}

TEST(RecentSealsTest, APageOlderThanTheNotesKeptIsHeldBack) {
  RecentSeals seals;
  const std::deque<v1::FeedEvent> page = {Delivery("ref_A", true)};
  for (size_t i = 0; i <= RecentSeals::kKept; ++i) seals.Note("ref_OTHER");
  EXPECT_TRUE(CarriesFactsSealedSince(seals, 0, page));
}

}  // namespace
}  // namespace hart::feed
