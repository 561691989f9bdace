#include "broker/feed/feed_placement.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "adapters/builtin.h"
#include "tests/support/test_support.h"

namespace hart::feed {
namespace {

using hart::testing::ConnecticutConfig;
using hart::testing::TestNow;

DeliveryRecord NewDelivery(const std::string& agency_id, const std::string& adapter_type) {
  DeliveryRecord d;
  d.delivery_id = "dlv_1";
  d.referral_id = "ref_1";
  d.agency_id = agency_id;
  d.adapter_type = adapter_type;
  d.state = v1::PENDING;
  return d;
}

TEST(FeedPlacementTest, OnlyAgenciesWhoseAdapterReadsTheStoreAreOnAFeed) {
  AdapterRegistry registry;
  ASSERT_TRUE(RegisterBuiltinAdapters(registry, {}).ok());
  const FeedPlacement placement = FeedPlacement::ForConfig(ConnecticutConfig(), registry);
  EXPECT_TRUE(placement.OnFeed("hartford-pd"));   // grpc_feed
  EXPECT_FALSE(placement.OnFeed("stamford-pd"));  // webhook
  EXPECT_FALSE(placement.OnFeed("ncmec"));        // ncmec
  EXPECT_FALSE(placement.OnFeed("no-such-agency"));
}

TEST(FeedPlacementTest, AFeedDeliveryIsSentInTheIntakesTransaction) {
  const FeedPlacement placement({"hartford-pd"});
  DeliveryRecord d = NewDelivery("hartford-pd", "grpc_feed");
  const absl::Time now = TestNow();
  const auto append = placement.Place(d, now);
  ASSERT_TRUE(append.has_value());
  EXPECT_EQ(d.state, v1::IN_FLIGHT);
  EXPECT_EQ(d.attempts, 1u);
  EXPECT_EQ(d.last_attempt_at, now);
  EXPECT_EQ(append->delivery_id, "dlv_1");
  EXPECT_EQ(append->agency_id, "hartford-pd");
  EXPECT_EQ(append->audit.at, now);
  EXPECT_EQ(append->audit.actor, "broker");
  EXPECT_EQ(append->audit.action, "delivery.sent");
  EXPECT_EQ(append->audit.referral_id, "ref_1");
  EXPECT_EQ(append->audit.delivery_id, "dlv_1");
  EXPECT_EQ(append->audit.detail, "adapter=grpc_feed agency=hartford-pd attempt=1");
}

TEST(FeedPlacementTest, OtherDeliveriesAreLeftToTheDispatcher) {
  const FeedPlacement placement({"hartford-pd"});
  DeliveryRecord d = NewDelivery("stamford-pd", "webhook");
  EXPECT_FALSE(placement.Place(d, TestNow()).has_value());
  EXPECT_EQ(d.state, v1::PENDING);
  EXPECT_EQ(d.attempts, 0u);
  EXPECT_FALSE(d.last_attempt_at.has_value());

  DeliveryRecord feed = NewDelivery("hartford-pd", "grpc_feed");
  EXPECT_FALSE(FeedPlacement().Place(feed, TestNow()).has_value());
  EXPECT_EQ(feed.state, v1::PENDING);
}

TEST(FeedPlacementTest, TheAdaptersAppendIsAuditedAsItsAttempt) {
  DeliveryRecord d = NewDelivery("hartford-pd", "grpc_feed");
  d.attempts = 3;
  const FeedAppend append = SentOnFeed(d, "hartford-pd", "grpc_feed", absl::Time());
  EXPECT_EQ(append.audit.at, absl::Time());  // the appender stamps it at commit
  EXPECT_EQ(append.audit.detail, "adapter=grpc_feed agency=hartford-pd attempt=3");
}

}  // namespace
}  // namespace hart::feed
