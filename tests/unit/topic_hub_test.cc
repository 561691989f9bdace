#include "broker/common/topic_hub.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

namespace hart {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

// Verifies that a publish reaches every listener of its topic, with the
// head, and no listener of another topic.
TEST(TopicHubTest, APublishReachesItsTopicsListenersOnly) {
  TopicHub hub;
  std::vector<uint64_t> a1, a2, b;
  hub.Listen("a", [&](uint64_t head) { a1.push_back(head); });
  hub.Listen("a", [&](uint64_t head) { a2.push_back(head); });
  hub.Listen("b", [&](uint64_t head) { b.push_back(head); });
  hub.Publish("a", 7);
  hub.Publish("c", 9);  // nobody listens: nothing happens
  hub.Publish("b", 3);
  EXPECT_THAT(a1, ElementsAre(7));
  EXPECT_THAT(a2, ElementsAre(7));
  EXPECT_THAT(b, ElementsAre(3));
}

// Verifies that an unlistened listener hears nothing more while the
// topic's others still do, and that the counts follow.
TEST(TopicHubTest, UnlistenStopsOneListenerAndTheCountsFollow) {
  TopicHub hub;
  int first = 0, second = 0;
  const TopicHub::Token token = hub.Listen("a", [&](uint64_t) { ++first; });
  const TopicHub::Token other = hub.Listen("a", [&](uint64_t) { ++second; });
  const TopicHub::Token lone = hub.Listen("b", [](uint64_t) {});
  EXPECT_EQ(hub.ListenerCount(), 3u);
  EXPECT_THAT(hub.ListenersPerTopic(), ElementsAre(Pair("a", 2u), Pair("b", 1u)));

  hub.Unlisten(token);
  hub.Unlisten(token);  // twice: harmless
  hub.Publish("a", 1);
  EXPECT_EQ(first, 0);
  EXPECT_EQ(second, 1);
  hub.Unlisten(lone);
  EXPECT_EQ(hub.ListenerCount(), 1u);
  EXPECT_THAT(hub.ListenersPerTopic(), ElementsAre(Pair("a", 1u)));

  hub.Unlisten(other);
  hub.Publish("a", 2);
  EXPECT_EQ(second, 1);
  EXPECT_EQ(hub.ListenerCount(), 0u);
  EXPECT_TRUE(hub.ListenersPerTopic().empty());
}

}  // namespace
}  // namespace hart
