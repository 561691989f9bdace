// The delivery guard's queue measured in time: at the pace its partner has
// answered so far, a delivery that would not get a slot before its claim
// runs out is refused at once (and the agency's backlog held), instead of
// waiting in the queue until its claim is worthless.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/delivery_guard_fixture.h"

namespace hart {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using hart::testing::DeliveryGuardTest;
using hart::testing::TestNow;

// One call at a time unless a case says otherwise; the watchdog's bound
// is the fixture's, 10 s + 2 s.
class DeliveryGuardPaceTest : public DeliveryGuardTest {
 protected:
  DeliveryGuardPaceTest() { policy_.max_concurrency = 1; }
  // The partner answers the i-th call after `took`.
  void AnswerAfter(size_t call, absl::Duration took) {
    clock_.Advance(took);
    inner_->Answer(call, DeliveryResult::Delivered("ok"));
  }
};

TEST_F(DeliveryGuardPaceTest, WhatWouldWaitPastItsClaimIsRefusedAtOnceAndHoldsTheAgency) {
  MakeGuard();
  DeliverClaimed("first");
  AnswerAfter(0, absl::Seconds(10));  // the pace: 10 s a call
  EXPECT_EQ(guard_->Health().call_time, absl::Seconds(10));
  DeliverClaimed("sending");
  // Slots come every 10 s, each call taking 10 s more: the fourth in the
  // queue is answered 50 s from now; the fifth would be as its claim runs
  // out, too late.
  for (int i = 0; i < 5; ++i) DeliverClaimed("queued-" + std::to_string(i));
  EXPECT_EQ(guard_->Health().queued, 4u);
  ASSERT_TRUE(outcomes_.Has("queued-4"));
  const DeliveryResult refused = outcomes_.Of("queued-4");
  EXPECT_FALSE(refused.attempted);
  EXPECT_TRUE(refused.holds_destination);
  EXPECT_EQ(refused.status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.status.message(),
              HasSubstr("4 deliveries already wait for agency-a: at its pace (10s a call, 1 "
                        "at a time) this one would be answered in about 1m, past its claim"));
  // Held until half a lease's worth is left in the queue: 60 s - 30 s.
  EXPECT_EQ(refused.retry_after, absl::Seconds(30));
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(outcomes_.Has("queued-" + std::to_string(i)));

  // Each queued one is sent and answered within its claim, in order; the
  // refused one is never sent.
  for (size_t call = 1; call <= 5; ++call) AnswerAfter(call, absl::Seconds(10));
  EXPECT_THAT(inner_->CallIds(),
              ElementsAre("first", "sending", "queued-0", "queued-1", "queued-2", "queued-3"));
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(outcomes_.Of("queued-" + std::to_string(i)).status.ok()) << i;
  }
  // The last answered 50 s after its claim, 10 s before it ran out.
  EXPECT_EQ(clock_.Now(), TestNow() + absl::Seconds(60));
  EXPECT_EQ(guard_->Health().queued, 0u);
}

TEST_F(DeliveryGuardPaceTest, BeforeAnyAnswerTheQueueIsBoundOnlyByItsLength) {
  MakeGuard();
  for (int i = 0; i < 20; ++i) DeliverClaimed("d" + std::to_string(i), absl::Seconds(1));
  EXPECT_EQ(outcomes_.size(), 0u);
  EXPECT_EQ(guard_->Health().queued, 19u);
}

TEST_F(DeliveryGuardPaceTest, ThePaceFollowsThePartnerAsItSpeedsUp) {
  policy_.max_concurrency = 2;
  policy_.timeout = absl::Seconds(30);
  MakeGuard();
  DeliverClaimed("slow");
  AnswerAfter(0, absl::Seconds(20));
  // At 20 s a call, two at a time, a 60 s claim is answered in time only
  // behind fewer than two waiting.
  DeliverClaimed("a");
  DeliverClaimed("b");
  for (int i = 0; i < 3; ++i) DeliverClaimed("w" + std::to_string(i));
  EXPECT_EQ(guard_->Health().queued, 2u);
  EXPECT_TRUE(outcomes_.Has("w2"));
  // The partner speeds up to 1 s a call: within a few calls the queue
  // takes a fuller lease's worth again.
  size_t call = 1;
  while (inner_->call_count() > call) AnswerAfter(call++, absl::Seconds(1));
  for (int round = 0; round < 40; ++round) {
    DeliverClaimed("fast-" + std::to_string(round));
    while (inner_->call_count() > call) AnswerAfter(call++, absl::Seconds(1));
  }
  for (int i = 0; i < 40; ++i) DeliverClaimed("later-" + std::to_string(i));
  EXPECT_FALSE(outcomes_.Has("later-39"));
  EXPECT_EQ(guard_->Health().queued, 38u);  // two went to the free slots
}

TEST_F(DeliveryGuardPaceTest, AWatchdogsAnswerCountsAsASlowCall) {
  MakeGuard();
  DeliverClaimed("silent");
  clock_.Advance(absl::Seconds(12));
  ASSERT_EQ(scheduler_.RunDue(), 1u);  // the watchdog answers: 12 s
  ASSERT_TRUE(outcomes_.Has("silent"));
  DeliverClaimed("sending");
  for (int i = 0; i < 4; ++i) DeliverClaimed("w" + std::to_string(i), absl::Seconds(40));
  // 12 s a call: answered 24 and 36 s from now fit a 40 s claim, 48 does not.
  EXPECT_EQ(guard_->Health().queued, 2u);
  EXPECT_TRUE(outcomes_.Has("w2"));
  EXPECT_TRUE(outcomes_.Has("w3"));
}

// The broker's clock steps 3 hours forward during a call (NTP, an
// operator): the call counts as the watchdog's bound at most, so the
// partner's pace, and its queue, stay what the next calls make them.
TEST_F(DeliveryGuardPaceTest, AClockStepCountsAsNoMoreThanTheWatchdogsBound) {
  MakeGuard();
  DeliverClaimed("fast");
  AnswerAfter(0, absl::Seconds(1));
  DeliverClaimed("across-the-step");
  AnswerAfter(1, absl::Hours(3));
  // The pace is now 1 s + (12 s - 1 s) / 8 = 2.375 s: a 60 s claim is
  // answered in time behind 23 waiting (59.4 s), not behind 24 (61.8 s).
  DeliverClaimed("sending");
  for (int i = 0; i < 25; ++i) DeliverClaimed("w" + std::to_string(i));
  EXPECT_EQ(guard_->Health().queued, 24u);
  EXPECT_FALSE(outcomes_.Has("w23"));
  ASSERT_TRUE(outcomes_.Has("w24"));
  EXPECT_LE(*outcomes_.Of("w24").retry_after, absl::Seconds(60));
}

}  // namespace
}  // namespace hart
