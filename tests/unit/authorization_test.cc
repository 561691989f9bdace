#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "broker/api/authorization_table.h"
#include "broker/api/rate_limiter.h"
#include "broker/common/drain_signal.h"
#include "google/protobuf/descriptor.h"
#include "hart/referral/v1/audit.pb.h"
#include "hart/referral/v1/feed.pb.h"
#include "hart/referral/v1/intake.pb.h"
#include "hart/referral/v1/operator.pb.h"
#include "hart/referral/v1/supervisor.pb.h"
#include "tests/support/test_support.h"

namespace hart {
namespace {

namespace v1 = ::hart::referral::v1;

// Verifies the table names every RPC the API declares, and nothing else.
TEST(AuthorizationTableTest, CoversEveryRpcOfEveryService) {
  std::set<std::string> declared;
  // Each file's descriptor, reached through one of its messages (which
  // also links the file in).
  const std::pair<const google::protobuf::FileDescriptor*, const char*> services[] = {
      {v1::Intake::descriptor()->file(), "IntakeService"},
      {v1::FeedEvent::descriptor()->file(), "FeedService"},
      {v1::ReferralStatus::descriptor()->file(), "SupervisorService"},
      {v1::AuditEntry::descriptor()->file(), "AuditService"},
      {v1::RotateDataKeysRequest::descriptor()->file(), "OperatorService"}};
  for (const auto& [file, service] : services) {
    const auto* descriptor = file->FindServiceByName(service);
    ASSERT_NE(descriptor, nullptr) << service;
    for (int i = 0; i < descriptor->method_count(); ++i) {
      declared.insert(descriptor->name() + "." + descriptor->method(i)->name());
      const auto* permission = FindPermission(descriptor->name() + "." + descriptor->method(i)->name());
      ASSERT_NE(permission, nullptr) << descriptor->method(i)->full_name();
      EXPECT_EQ(permission->streaming, descriptor->method(i)->server_streaming())
          << descriptor->method(i)->full_name();
      EXPECT_FALSE(permission->roles.empty());
    }
  }
  std::set<std::string> listed;
  for (const auto& p : AuthorizationTable()) listed.insert(p.rpc);
  EXPECT_EQ(listed, declared);
  EXPECT_EQ(FindPermission("IntakeService.Nope"), nullptr);
}

TEST(RateLimiterTest, AllowsTheBurstThenRefillsAtTheRate) {
  ManualClock clock(hart::testing::TestNow());
  RateLimiter limiter(clock, /*per_second=*/10, /*burst=*/5);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.Allow("agency/a")) << i;
  EXPECT_FALSE(limiter.Allow("agency/a"));
  EXPECT_TRUE(limiter.Allow("agency/b"));  // buckets are per identity
  clock.Advance(absl::Milliseconds(99));
  EXPECT_FALSE(limiter.Allow("agency/a"));
  clock.Advance(absl::Milliseconds(1));  // 100 ms at 10/s: one token
  EXPECT_TRUE(limiter.Allow("agency/a"));
  EXPECT_FALSE(limiter.Allow("agency/a"));
  clock.Advance(absl::Hours(1));  // never more than the burst
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.Allow("agency/a"));
  EXPECT_FALSE(limiter.Allow("agency/a"));
}

TEST(RateLimiterTest, AWallClockSteppedBackDoesNotStopTheRefill) {
  ManualClock clock(hart::testing::TestNow());
  RateLimiter limiter(clock, /*per_second=*/10, /*burst=*/5);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.Allow("agency/a")) << i;
  EXPECT_FALSE(limiter.Allow("agency/a"));
  clock.Advance(-absl::Minutes(10));
  EXPECT_FALSE(limiter.Allow("agency/a")) << "a step back adds no tokens";
  clock.Advance(absl::Milliseconds(100));  // 100 ms after the step: one token
  EXPECT_TRUE(limiter.Allow("agency/a"));
  EXPECT_FALSE(limiter.Allow("agency/a"));
  clock.Advance(absl::Seconds(1));
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.Allow("agency/a")) << i;
}

TEST(RateLimiterTest, ZeroRateDisablesLimiting) {
  ManualClock clock(hart::testing::TestNow());
  RateLimiter limiter(clock, 0, 1);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.Allow("x"));
}

// Verifies what open streams rely on to end when the broker drains: each
// listener runs once; one that comes later runs at once; a forgotten one
// never runs.
TEST(DrainSignalTest, RunsEachListenerOnceAndLateOnesAtOnce) {
  DrainSignal drain;
  int first = 0, forgotten = 0, late = 0;
  drain.Listen([&] { ++first; });
  const DrainSignal::Token token = drain.Listen([&] { ++forgotten; });
  drain.Forget(token);
  EXPECT_FALSE(drain.draining());
  drain.Drain();
  drain.Drain();
  EXPECT_TRUE(drain.draining());
  EXPECT_EQ(first, 1);
  EXPECT_EQ(forgotten, 0);
  EXPECT_EQ(drain.Listen([&] { ++late; }), 0u);
  EXPECT_EQ(late, 1);
}

}  // namespace
}  // namespace hart
