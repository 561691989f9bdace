// The Store contract for a supervisor's redelivery: a DEAD or DECLINED
// delivery is sent again as a new delivery, once, compare-and-set on its state.
#include "tests/store/conformance_fixture.h"

namespace hart::conformance {
namespace {

using ::testing::ElementsAre;

class RedeliveryConformanceTest : public StoreConformanceTest {
 protected:
  // Referral "a" to hartford-pd with a ladder, its one attempt DEAD.
  void CreateDead() {
    NewReferral a = Referral("a");
    a.timers.push_back(LadderTimer(a.deliveries[0], "tmr_old_1", 1, kT0 + absl::Hours(4)));
    ASSERT_OK(Create(a));
    ASSERT_OK_AND_ASSIGN(auto claimed, Claim(kT0, kT0 + absl::Minutes(1)));
    ASSERT_EQ(claimed.size(), 1u);
    const DeliveryOutcome dead = Dead(claimed[0], kT0);
    ASSERT_OK(store().RecordOutcomes({&dead, 1}));
    ASSERT_OK_AND_ASSIGN(dead_, store().GetDelivery(claimed[0].delivery_id));
    ASSERT_EQ(dead_.state, v1::DEAD);
  }
  DeliveryRecord dead_;
};
HART_STORE_CONFORMANCE_SUITE(RedeliveryConformanceTest);

TEST_P(RedeliveryConformanceTest, ADeadDeliveryIsSentAgainAsANewDelivery) {
  ASSERT_NO_FATAL_FAILURE(CreateDead());
  ASSERT_OK_AND_ASSIGN(auto head, store().AuditHead());
  const absl::Time at = kT0 + absl::Hours(1);
  const RedeliveryWrite write = Redelivery(dead_, v1::DEAD, "dlv_again", at);
  ASSERT_OK(store().ApplyRedelivery(write));

  ASSERT_OK_AND_ASSIGN(auto old, store().GetDelivery(dead_.delivery_id));
  EXPECT_EQ(old.state, v1::DEAD);
  EXPECT_EQ(old.redelivered_as, "dlv_again");
  ASSERT_OK_AND_ASSIGN(auto fresh, store().GetDelivery("dlv_again"));
  EXPECT_EQ(fresh.state, v1::PENDING);
  EXPECT_EQ(fresh.attempts, 0u);
  EXPECT_TRUE(fresh.redelivered_as.empty());
  // The old ladder stops; the new delivery's starts.
  std::vector<std::string> timer_ids;
  for (const auto& t :
       store().PendingTimers(ReferralId("a")).value_or(std::vector<TimerRecord>{})) {
    timer_ids.push_back(t.timer_id);
  }
  EXPECT_THAT(timer_ids, ElementsAre(write.ladder->timer_id));
  EXPECT_EQ(MUST(store().AuditHead()).size, head.size + write.audit.size());
  ASSERT_OK_AND_ASSIGN(auto claimed, Claim(at, at + absl::Minutes(1)));
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].delivery_id, "dlv_again");
}

// Verifies a redelivery from a stale state, or of a delivery already
// redelivered, is ABORTED and writes nothing.
TEST_P(RedeliveryConformanceTest, ARedeliveryThatLostItsCompareAndSetWritesNothing) {
  ASSERT_NO_FATAL_FAILURE(CreateDead());
  ASSERT_OK_AND_ASSIGN(auto head, store().AuditHead());
  EXPECT_EQ(STATUS_CODE(store().ApplyRedelivery(
                Redelivery(dead_, v1::DECLINED, "dlv_stale", kT0 + absl::Hours(1)))),
            absl::StatusCode::kAborted);
  EXPECT_EQ(STATUS_CODE(store().GetDelivery("dlv_stale")), absl::StatusCode::kNotFound);
  EXPECT_EQ(MUST(store().AuditHead()).size, head.size);
  EXPECT_EQ(MUST(store().PendingTimers(ReferralId("a"))).size(), 1u);

  ASSERT_OK(
      store().ApplyRedelivery(Redelivery(dead_, v1::DEAD, "dlv_first", kT0 + absl::Hours(1))));
  ASSERT_OK_AND_ASSIGN(auto after_first, store().AuditHead());
  EXPECT_EQ(STATUS_CODE(store().ApplyRedelivery(
                Redelivery(dead_, v1::DEAD, "dlv_second", kT0 + absl::Hours(2)))),
            absl::StatusCode::kAborted);
  EXPECT_EQ(STATUS_CODE(store().GetDelivery("dlv_second")), absl::StatusCode::kNotFound);
  EXPECT_EQ(MUST(store().GetDelivery(dead_.delivery_id)).redelivered_as, "dlv_first");
  EXPECT_EQ(MUST(store().AuditHead()).size, after_first.size);
}

}  // namespace
}  // namespace hart::conformance
