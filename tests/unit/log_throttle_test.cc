#include "broker/common/log_throttle.h"

#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace hart {
namespace {

using ::hart::testing::TestNow;

TEST(LogThrottleTest, OneLineAPeriodPerKeyCountingTheOnesHeldBack) {
  ManualClock clock(TestNow());
  LogThrottle throttle(clock, absl::Seconds(10));
  EXPECT_EQ(throttle.Admit("agency/hartford-pd"), 0u);
  EXPECT_EQ(throttle.Admit("agency/hartford-pd"), std::nullopt);
  EXPECT_EQ(throttle.Admit("agency/csao"), 0u) << "each key has its own period";
  clock.Advance(absl::Seconds(9));
  EXPECT_EQ(throttle.Admit("agency/hartford-pd"), std::nullopt);
  clock.Advance(absl::Seconds(1));
  EXPECT_EQ(throttle.Admit("agency/hartford-pd"), 2u);
  EXPECT_EQ(throttle.Admit("agency/hartford-pd"), std::nullopt);
  clock.Advance(absl::Seconds(30));
  EXPECT_EQ(throttle.Admit("agency/hartford-pd"), 1u);
}

TEST(LogThrottleTest, AClockSteppedBackLetsALineThrough) {
  ManualClock clock(TestNow());
  LogThrottle throttle(clock, absl::Seconds(10));
  EXPECT_EQ(throttle.Admit("k"), 0u);
  clock.Advance(-absl::Hours(1));
  EXPECT_EQ(throttle.Admit("k"), 0u);
  EXPECT_EQ(throttle.Admit("k"), std::nullopt);
}

TEST(LogThrottleTest, BeyondItsKeysItForgetsTheQuietOnesFirst) {
  ManualClock clock(TestNow());
  LogThrottle throttle(clock, absl::Seconds(10), /*max_keys=*/2);
  EXPECT_EQ(throttle.Admit("quiet"), 0u);
  clock.Advance(absl::Seconds(10));
  EXPECT_EQ(throttle.Admit("loud"), 0u);
  EXPECT_EQ(throttle.Admit("loud"), std::nullopt);
  EXPECT_EQ(throttle.Admit("new"), 0u);  // "quiet" forgotten, "loud" kept
  EXPECT_EQ(throttle.Admit("loud"), std::nullopt) << "a loud key kept its period";
  EXPECT_EQ(throttle.Admit("third"), 0u);  // nothing quiet: everything forgotten
  EXPECT_EQ(throttle.Admit("loud"), 0u);
}

}  // namespace
}  // namespace hart
