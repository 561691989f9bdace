// URGENT deliveries in the guard's queue: they wait behind the URGENT ones
// already there and ahead of every NORMAL one, and the pace check counts
// only what goes before them, so a slow partner's backlog does not keep an
// urgent referral in the store.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/delivery_guard_fixture.h"

namespace hart {
namespace {

using ::testing::ElementsAre;
using hart::testing::DeliveryGuardTest;
using hart::testing::TestNow;

// One call at a time, so the queue's order is the order of the calls.
class DeliveryGuardPriorityTest : public DeliveryGuardTest {
 protected:
  DeliveryGuardPriorityTest() { policy_.max_concurrency = 1; }
  // Answers every call as it comes, each after `took`, until none is left.
  void AnswerAll(absl::Duration took) {
    for (size_t call = 0; call < inner_->call_count(); ++call) {
      clock_.Advance(took);
      inner_->Answer(call, DeliveryResult::Delivered("ok"));
    }
  }
};

TEST_F(DeliveryGuardPriorityTest, UrgentDeliveriesGoAheadOfTheNormalOnesWaiting) {
  MakeGuard();
  DeliverClaimed("sending", v1::NORMAL);
  DeliverClaimed("normal-0", v1::NORMAL);
  DeliverClaimed("normal-1", v1::NORMAL);
  DeliverClaimed("urgent-0", v1::URGENT);
  DeliverClaimed("normal-2", v1::NORMAL);
  DeliverClaimed("urgent-1", v1::URGENT);
  EXPECT_EQ(guard_->Health().queued, 5u);
  AnswerAll(absl::Seconds(1));
  EXPECT_THAT(inner_->CallIds(), ElementsAre("sending", "urgent-0", "urgent-1", "normal-0",
                                             "normal-1", "normal-2"));
  EXPECT_EQ(outcomes_.size(), 6u);
}

TEST_F(DeliveryGuardPriorityTest, AnUrgentDeliveryIsNotRefusedForTheNormalBacklogAheadOfIt) {
  MakeGuard();
  DeliverClaimed("first", v1::NORMAL);
  clock_.Advance(absl::Seconds(10));
  inner_->Answer(0, DeliveryResult::Delivered("ok"));  // the pace: 10 s a call
  DeliverClaimed("sending", v1::NORMAL);
  for (int i = 0; i < 5; ++i) DeliverClaimed("normal-" + std::to_string(i), v1::NORMAL);
  // As DeliveryGuardPaceTest's first case: the fifth NORMAL one would be
  // answered as its claim runs out, and waits in the store instead.
  ASSERT_TRUE(outcomes_.Has("normal-4"));
  EXPECT_TRUE(outcomes_.Of("normal-4").holds_destination);
  // An URGENT one goes first: answered in 20 s, well within its claim.
  DeliverClaimed("urgent", v1::URGENT);
  EXPECT_FALSE(outcomes_.Has("urgent"));
  EXPECT_EQ(guard_->Health().queued, 5u);
  clock_.Advance(absl::Seconds(10));
  inner_->Answer(1, DeliveryResult::Delivered("ok"));
  clock_.Advance(absl::Seconds(10));
  inner_->Answer(2, DeliveryResult::Delivered("ok"));
  ASSERT_TRUE(outcomes_.Has("urgent"));
  EXPECT_TRUE(outcomes_.Of("urgent").status.ok());
  EXPECT_EQ(clock_.Now(), TestNow() + absl::Seconds(30));
  EXPECT_THAT(inner_->CallIds(), ElementsAre("first", "sending", "urgent", "normal-0"));
}

}  // namespace
}  // namespace hart
