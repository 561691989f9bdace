// The NOTIFY payloads replicas wake each other with: what a transaction's
// changes say, and what a follower reads back (including payloads from a
// broker that lists agencies without their sequences).
#include "broker/store/postgres/pg_change_channels.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace hart::pg {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(PgChangeChannelsTest, FeedsTravelWithTheSequenceEachReached) {
  PgChanges changes;
  changes.feeds = {{"task-force", 41}, {"csao", 7}};
  changes.work = true;
  const std::vector<Notification> sent = Notifications("broker-a", changes);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_STREQ(sent[0].channel, kFeedsChannel);
  EXPECT_EQ(sent[0].payload, "broker-a\ncsao:7,task-force:41");
  EXPECT_STREQ(sent[1].channel, kWorkChannel);
  EXPECT_EQ(sent[1].payload, "broker-a\n");

  const ChangePayload read = ParseChangePayload(sent[0].payload);
  EXPECT_EQ(read.broker_id, "broker-a");
  EXPECT_THAT(read.feeds, ElementsAre(FeedGrowth{"csao", 7}, FeedGrowth{"task-force", 41}));
}

TEST(PgChangeChannelsTest, AnAgencyWithoutAReadableSequenceIsToBeRead) {
  const ChangePayload read = ParseChangePayload("broker-b\ncsao,task-force:x,pd:0,,ok:3");
  EXPECT_THAT(read.feeds, ElementsAre(FeedGrowth{"csao", std::nullopt},
                                      FeedGrowth{"task-force", std::nullopt},
                                      FeedGrowth{"pd", std::nullopt}, FeedGrowth{"ok", 3}));
  EXPECT_THAT(ParseChangePayload("broker-b\n").feeds, IsEmpty());  // any feed
  EXPECT_EQ(ParseChangePayload("no newline").broker_id, "");        // not a broker's
}

TEST(PgChangeChannelsTest, AListTooLongForPostgresqlBecomesAnyFeed) {
  PgChanges changes;
  for (int i = 0; i < 600; ++i) changes.feeds["agency-" + std::to_string(i)] = 1000000 + i;
  const std::vector<Notification> sent = Notifications("broker-a", changes);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].payload, "broker-a\n");
  EXPECT_LT(sent[0].payload.size(), 8000u);

  // 140 agencies (Connecticut's) with large sequences still fit.
  changes.feeds.clear();
  for (int i = 0; i < 140; ++i) changes.feeds["agency-with-a-long-id-" + std::to_string(i)] = uint64_t{1} << 40;
  const std::string payload = Notifications("broker-a", changes)[0].payload;
  EXPECT_LT(payload.size(), 8000u);
  EXPECT_EQ(ParseChangePayload(payload).feeds.size(), 140u);
}

TEST(PgChangeChannelsTest, SealsTravelAsReferralIds) {
  PgChanges changes;
  changes.sealed = {"ref_01", "ref_02"};
  const std::vector<Notification> sent = Notifications("broker-a", changes);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_STREQ(sent[0].channel, kSealsChannel);
  EXPECT_EQ(sent[0].payload, "broker-a\nref_01,ref_02");
  EXPECT_EQ(ParseChangePayload(sent[0].payload).broker_id, "broker-a");
  EXPECT_THAT(ParseSealedIds(sent[0].payload), ElementsAre("ref_01", "ref_02"));
  EXPECT_THAT(ParseSealedIds("broker-a\n"), IsEmpty());  // any referral

  changes.sealed.assign(600, "ref_with_a_rather_long_identifier");
  const std::string too_long = Notifications("broker-a", changes)[0].payload;
  EXPECT_EQ(too_long, "broker-a\n");
}

}  // namespace
}  // namespace hart::pg
