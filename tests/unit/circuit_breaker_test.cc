// The circuit breaker as a pure state machine over given times.
#include "broker/dispatch/circuit_breaker.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/support/test_support.h"

namespace hart {
namespace {

using Admission = CircuitBreaker::Admission;
using State = CircuitBreaker::State;
using hart::testing::TestNow;

class CircuitBreakerTest : public ::testing::Test {
 protected:
  // Fails `n` admitted calls at `at`.
  void Fail(int n, absl::Time at) {
    for (int i = 0; i < n; ++i) breaker_.RecordFailure(at, breaker_.Allow(at));
  }

  const absl::Time t0_ = TestNow();
  CircuitBreaker breaker_{CircuitPolicy{3, absl::Seconds(60)}};
};

TEST_F(CircuitBreakerTest, OpensAfterThresholdConsecutiveFailures) {
  Fail(2, t0_);
  EXPECT_EQ(breaker_.state(t0_), State::kClosed);
  EXPECT_EQ(breaker_.consecutive_failures(), 2u);
  EXPECT_EQ(breaker_.Allow(t0_), Admission::kAdmitted);
  breaker_.RecordFailure(t0_, Admission::kAdmitted);
  EXPECT_EQ(breaker_.state(t0_), State::kOpen);
  EXPECT_EQ(breaker_.open_until(), t0_ + absl::Seconds(60));
  EXPECT_EQ(breaker_.Allow(t0_ + absl::Seconds(59)), Admission::kRefused);
  EXPECT_FALSE(breaker_.WouldAllow(t0_ + absl::Seconds(59)));
}

TEST_F(CircuitBreakerTest, AClockSteppedBackBeforeTheOpeningLetsOneProbeThrough) {
  Fail(3, t0_);
  const absl::Time stepped_back = t0_ - absl::Minutes(10);
  EXPECT_EQ(breaker_.state(stepped_back), State::kHalfOpen);
  EXPECT_EQ(breaker_.Allow(stepped_back), Admission::kProbe);
  EXPECT_EQ(breaker_.Allow(stepped_back), Admission::kRefused) << "one probe at a time";
  breaker_.RecordFailure(stepped_back, Admission::kProbe);
  // The failed probe opens a new period counted from the stepped-back time.
  EXPECT_EQ(breaker_.state(stepped_back + absl::Seconds(59)), State::kOpen);
  EXPECT_EQ(breaker_.state(stepped_back + absl::Seconds(60)), State::kHalfOpen);
}

TEST_F(CircuitBreakerTest, SuccessResetsTheCount) {
  Fail(2, t0_);
  breaker_.RecordSuccess();
  EXPECT_EQ(breaker_.consecutive_failures(), 0u);
  Fail(2, t0_);
  EXPECT_EQ(breaker_.state(t0_), State::kClosed);
}

TEST_F(CircuitBreakerTest, HalfOpenAdmitsExactlyOneProbeAndItsSuccessCloses) {
  Fail(3, t0_);
  const absl::Time later = t0_ + absl::Seconds(60);
  EXPECT_EQ(breaker_.state(later), State::kHalfOpen);
  EXPECT_TRUE(breaker_.WouldAllow(later));
  EXPECT_EQ(breaker_.Allow(later), Admission::kProbe);
  EXPECT_TRUE(breaker_.probe_in_flight());
  EXPECT_FALSE(breaker_.WouldAllow(later));
  EXPECT_EQ(breaker_.Allow(later), Admission::kRefused);
  EXPECT_EQ(breaker_.Allow(later + absl::Hours(1)), Admission::kRefused);
  breaker_.RecordSuccess();
  EXPECT_EQ(breaker_.state(later), State::kClosed);
  EXPECT_EQ(breaker_.consecutive_failures(), 0u);
  EXPECT_FALSE(breaker_.open_until().has_value());
  EXPECT_EQ(breaker_.Allow(later), Admission::kAdmitted);
}

TEST_F(CircuitBreakerTest, ProbeFailureOpensANewPeriod) {
  Fail(3, t0_);
  const absl::Time probe_at = t0_ + absl::Seconds(90);
  ASSERT_EQ(breaker_.Allow(probe_at), Admission::kProbe);
  breaker_.RecordFailure(probe_at + absl::Seconds(5), Admission::kProbe);
  EXPECT_EQ(breaker_.state(probe_at + absl::Seconds(5)), State::kOpen);
  EXPECT_EQ(breaker_.open_until(), probe_at + absl::Seconds(65));
  EXPECT_EQ(breaker_.consecutive_failures(), 4u);
  EXPECT_FALSE(breaker_.probe_in_flight());
  EXPECT_EQ(breaker_.Allow(probe_at + absl::Seconds(64)), Admission::kRefused);
  EXPECT_EQ(breaker_.Allow(probe_at + absl::Seconds(65)), Admission::kProbe);
}

TEST_F(CircuitBreakerTest, LateFailuresOfEarlierCallsDoNotExtendTheOpenPeriod) {
  Fail(3, t0_);
  breaker_.RecordFailure(t0_ + absl::Seconds(30), Admission::kAdmitted);
  EXPECT_EQ(breaker_.open_until(), t0_ + absl::Seconds(60));
  // Nor do they count as the probe's failure.
  const absl::Time later = t0_ + absl::Seconds(60);
  ASSERT_EQ(breaker_.Allow(later), Admission::kProbe);
  breaker_.RecordFailure(later, Admission::kAdmitted);
  EXPECT_TRUE(breaker_.probe_in_flight());
  EXPECT_EQ(breaker_.state(later), State::kHalfOpen);
}

TEST_F(CircuitBreakerTest, AProbeThatNeverReachedThePartnerLetsAnotherProbe) {
  Fail(3, t0_);
  const absl::Time later = t0_ + absl::Seconds(60);
  ASSERT_EQ(breaker_.Allow(later), Admission::kProbe);
  breaker_.RecordNotAttempted(Admission::kProbe);
  EXPECT_EQ(breaker_.state(later), State::kHalfOpen);
  EXPECT_EQ(breaker_.Allow(later), Admission::kProbe);
}

// A partner down for long is probed less and less often, up to the cap; a
// success starts over from open_for.
TEST(CircuitBreakerGrowthTest, EachFailedProbeDoublesThePeriodUpToItsMaximum) {
  CircuitBreaker breaker(CircuitPolicy{1, absl::Seconds(60), absl::Seconds(300)});
  absl::Time now = TestNow();
  breaker.RecordFailure(now, breaker.Allow(now));
  std::vector<int64_t> periods;
  for (int i = 0; i < 5; ++i) {
    const absl::Time until = breaker.open_until().value();
    periods.push_back(absl::ToInt64Seconds(until - now));
    EXPECT_EQ(breaker.state(until - absl::Seconds(1)), State::kOpen);
    now = until;
    ASSERT_EQ(breaker.Allow(now), Admission::kProbe);
    breaker.RecordFailure(now, Admission::kProbe);
  }
  EXPECT_EQ(periods, (std::vector<int64_t>{60, 120, 240, 300, 300}));

  now = breaker.open_until().value();
  ASSERT_EQ(breaker.Allow(now), Admission::kProbe);
  breaker.RecordSuccess();
  breaker.RecordFailure(now, breaker.Allow(now));
  EXPECT_EQ(breaker.open_until(), now + absl::Seconds(60));
}

TEST(CircuitBreakerGrowthTest, AMaximumAtOrBelowOpenForKeepsEveryPeriodTheSame) {
  for (absl::Duration max : {absl::ZeroDuration(), absl::Seconds(30), absl::Seconds(60)}) {
    CircuitBreaker breaker(CircuitPolicy{1, absl::Seconds(60), max});
    absl::Time now = TestNow();
    breaker.RecordFailure(now, breaker.Allow(now));
    for (int i = 0; i < 3; ++i) {
      const absl::Time until = breaker.open_until().value();
      EXPECT_EQ(until - now, absl::Seconds(60)) << max;
      now = until;
      breaker.RecordFailure(now, breaker.Allow(now));
    }
  }
}

TEST(CircuitBreakerThresholdTest, ZeroThresholdOpensOnTheFirstFailure) {
  CircuitBreaker breaker(CircuitPolicy{0, absl::Seconds(1)});
  breaker.RecordFailure(TestNow(), breaker.Allow(TestNow()));
  EXPECT_EQ(breaker.state(TestNow()), State::kOpen);
}

}  // namespace
}  // namespace hart
