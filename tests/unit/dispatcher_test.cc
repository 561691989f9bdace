#include "broker/dispatch/dispatcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>

#include "broker/dispatch/backoff.h"
#include "broker/store/store_wrapper.h"
#include "tests/support/referral_factory.h"

namespace hart {
namespace {

using hart::testing::FakeRandom;
using hart::testing::ReferralFactory;
using hart::testing::TempDir;
using hart::testing::TestNow;

// Answers every delivery with the next scripted result (OK + transport ack
// when the script is empty).
class ScriptedAdapter final : public Adapter {
 public:
  std::string_view type() const override { return "scripted"; }
  void Deliver(const DeliveryRecord& delivery, DoneCallback done) override {
    calls.push_back(delivery);
    DeliveryResult result = DeliveryResult::Delivered("ok");
    if (!script.empty()) {
      result = script.front();
      script.pop_front();
    }
    done(result);
  }
  std::deque<DeliveryResult> script;
  std::vector<DeliveryRecord> calls;
};

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest() : clock_(TestNow()) {
    store_ = std::move(OpenSqliteStore(dir_.path()).value());
    factory_ = std::make_unique<ReferralFactory>(*store_, clock_);
    policy_.budget.max_attempts = 3;
    policy_.backoff = {absl::Seconds(2), absl::Seconds(60)};
  }
  // Every agency is served by the same scripted adapter.
  std::unique_ptr<Dispatcher> MakeDispatcher(Store* store = nullptr) {
    std::map<std::string, Adapter*> adapters;
    for (const auto& agency : hart::testing::ConnecticutConfig().agencies()) {
      adapters[agency.id()] = &adapter_;
    }
    return std::make_unique<Dispatcher>(store != nullptr ? *store : *store_, adapters, clock_,
                                        random_, policy_);
  }
  DeliveryRecord OnlyDelivery(const std::string& id) { return store_->GetDelivery(id).value(); }

  TempDir dir_;
  ManualClock clock_;
  FakeRandom random_;
  DispatchPolicy policy_;
  ScriptedAdapter adapter_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ReferralFactory> factory_;
};

TEST_F(DispatcherTest, DeliversEveryDueDeliveryOnce) {
  auto receipt = factory_->Submit(ReferralFactory::Example("school-sex-trafficking-hartford", ""));
  auto dispatcher = MakeDispatcher();
  EXPECT_EQ(dispatcher->RunOnce().value(), static_cast<size_t>(receipt->destinations_size()));
  EXPECT_EQ(dispatcher->RunOnce().value(), 0u);
  for (const auto& dest : receipt->destinations()) {
    const auto d = OnlyDelivery(dest.delivery_id());
    EXPECT_EQ(d.state, v1::DELIVERED);
    EXPECT_EQ(d.attempts, 1u);
    EXPECT_TRUE(d.delivered_at.has_value());
  }
}

// A wall clock stepped back does not hold new deliveries until it catches
// up with their creation; a retry's backoff still counts as "not before".
TEST_F(DispatcherTest, NewDeliveriesAreDueAfterTheClockStepsBackRetriesAreNotEarly) {
  auto receipt = factory_->Submit(ReferralFactory::Example("labor-trafficking-waterbury", ""));
  const int n = receipt->destinations_size();
  const std::string id = receipt->destinations(0).delivery_id();
  EXPECT_EQ(OnlyDelivery(id).next_attempt_at, AsapAttempt(clock_.Now()));
  clock_.Advance(-absl::Minutes(10));
  for (int i = 0; i < n; ++i) {
    adapter_.script.push_back(DeliveryResult::Failed(absl::UnavailableError("down")));
  }
  auto dispatcher = MakeDispatcher();
  random_.fraction = 0.0;
  ASSERT_EQ(dispatcher->RunOnce().value(), static_cast<size_t>(n));  // all first attempts
  const absl::Time retry_at = OnlyDelivery(id).next_attempt_at;
  EXPECT_EQ(retry_at, clock_.Now() + absl::Seconds(1));
  clock_.Advance(-absl::Minutes(10));  // back again: the retry waits for its time
  EXPECT_EQ(dispatcher->RunOnce().value(), 0u);
  clock_.Set(retry_at);
  EXPECT_EQ(dispatcher->RunOnce().value(), static_cast<size_t>(n));
}

TEST_F(DispatcherTest, RetriesUnavailableWithGrowingBackoffThenDeadLettersAfterBudget) {
  auto receipt = factory_->Submit(ReferralFactory::Example("labor-trafficking-waterbury", ""));
  const int n = receipt->destinations_size();
  const std::string id = receipt->destinations(0).delivery_id();
  for (int i = 0; i < 3 * n; ++i) adapter_.script.push_back(DeliveryResult::Failed(absl::UnavailableError("down")));
  auto dispatcher = MakeDispatcher();
  random_.fraction = 0.0;  // smallest jittered delay: ceiling / 2

  ASSERT_EQ(dispatcher->RunOnce().value(), static_cast<size_t>(n));
  auto d = OnlyDelivery(id);
  EXPECT_EQ(d.state, v1::PENDING);
  EXPECT_EQ(d.next_attempt_at, clock_.Now() + absl::Seconds(1));  // ceiling 2 s
  EXPECT_THAT(d.last_error, ::testing::HasSubstr("UNAVAILABLE"));

  clock_.Advance(absl::Milliseconds(999));
  EXPECT_EQ(dispatcher->RunOnce().value(), 0u);  // not due yet
  clock_.Advance(absl::Milliseconds(1));
  ASSERT_EQ(dispatcher->RunOnce().value(), static_cast<size_t>(n));
  d = OnlyDelivery(id);
  EXPECT_EQ(d.attempts, 2u);
  EXPECT_EQ(d.next_attempt_at, clock_.Now() + absl::Seconds(2));  // ceiling 4 s

  clock_.Advance(absl::Seconds(2));
  ASSERT_EQ(dispatcher->RunOnce().value(), static_cast<size_t>(n));
  d = OnlyDelivery(id);
  EXPECT_EQ(d.attempts, 3u);
  EXPECT_EQ(d.state, v1::DEAD);
  clock_.Advance(absl::Hours(1));
  EXPECT_EQ(dispatcher->RunOnce().value(), 0u);  // dead letters are not retried
}

TEST_F(DispatcherTest, PermanentErrorsDeadLetterAtOnce) {
  auto receipt = factory_->Submit(ReferralFactory::Example("labor-trafficking-waterbury", ""));
  adapter_.script.push_back(DeliveryResult::Failed(absl::InvalidArgumentError("partner rejected the payload")));
  auto dispatcher = MakeDispatcher();
  ASSERT_GT(dispatcher->RunOnce().value(), 0u);
  const auto d = OnlyDelivery(adapter_.calls[0].delivery_id);
  EXPECT_EQ(d.state, v1::DEAD);
  EXPECT_EQ(d.attempts, 1u);
}

TEST_F(DispatcherTest, HonoursRetryAfterWhenLongerThanBackoff) {
  auto receipt = factory_->Submit(ReferralFactory::Example("labor-trafficking-waterbury", ""));
  adapter_.script.push_back(DeliveryResult::Failed(absl::UnavailableError("busy"), absl::Minutes(5)));
  auto dispatcher = MakeDispatcher();
  ASSERT_GT(dispatcher->RunOnce().value(), 0u);
  EXPECT_EQ(OnlyDelivery(adapter_.calls[0].delivery_id).next_attempt_at,
            clock_.Now() + absl::Minutes(5));
}

TEST_F(DispatcherTest, OneFailingDestinationDoesNotDelayTheOthers) {
  auto receipt = factory_->Submit(ReferralFactory::Example("school-sex-trafficking-hartford", ""));
  adapter_.script.push_back(DeliveryResult::Failed(absl::UnavailableError("down")));
  auto dispatcher = MakeDispatcher();
  ASSERT_EQ(dispatcher->RunOnce().value(), static_cast<size_t>(receipt->destinations_size()));
  int delivered = 0;
  for (const auto& dest : receipt->destinations()) {
    delivered += OnlyDelivery(dest.delivery_id()).state == v1::DELIVERED;
  }
  EXPECT_EQ(delivered, receipt->destinations_size() - 1);
}

// Records how many outcomes each RecordOutcomes call carried; refuses
// every call with more than one with `refusal` when it is set.
class OutcomeWriteCounter final : public StoreWrapper {
 public:
  using StoreWrapper::StoreWrapper;
  absl::Status RecordOutcomes(std::span<const DeliveryOutcome> outcomes) override {
    writes.push_back(outcomes.size());
    if (!refusal.ok() && outcomes.size() > 1) return refusal;
    return StoreWrapper::RecordOutcomes(outcomes);
  }
  std::vector<size_t> writes;
  absl::Status refusal;
};

// A partner whose circuit is open answers each delivery at once (deferred):
// one store write for the pass, not one commit per delivery of its backlog.
TEST_F(DispatcherTest, AnswersGivenWhileAPassHandsOutAreRecordedInOneWrite) {
  size_t due = 0;
  for (int i = 0; i < 3; ++i) {
    auto receipt = factory_->Submit(
        ReferralFactory::Example("school-sex-trafficking-hartford", "-B" + std::to_string(i)));
    due += static_cast<size_t>(receipt->destinations_size());
  }
  for (size_t i = 0; i < due; ++i) {
    adapter_.script.push_back(
        DeliveryResult::Deferred(absl::UnavailableError("circuit open"), absl::Seconds(30)));
  }
  OutcomeWriteCounter counter(*store_);
  auto dispatcher = MakeDispatcher(&counter);
  ASSERT_EQ(dispatcher->RunOnce().value(), due);
  EXPECT_THAT(counter.writes, ::testing::ElementsAre(due));
  for (const DeliveryRecord& d : adapter_.calls) {
    const auto now = OnlyDelivery(d.delivery_id);
    EXPECT_EQ(now.state, v1::PENDING);
    EXPECT_EQ(now.attempts, 0u);  // a deferral spends no attempt
    EXPECT_EQ(now.next_attempt_at, clock_.Now() + absl::Seconds(30));
  }
}

// A refused batch is written again one outcome at a time: one outcome the
// store cannot take does not leave the others to their claim's lease.
TEST_F(DispatcherTest, ABatchTheStoreRefusesIsRecordedOneOutcomeAtATime) {
  auto receipt = factory_->Submit(ReferralFactory::Example("school-sex-trafficking-hartford", ""));
  const size_t due = static_cast<size_t>(receipt->destinations_size());
  ASSERT_GT(due, 1u);
  OutcomeWriteCounter counter(*store_);
  counter.refusal = absl::FailedPreconditionError("one outcome refused");
  auto dispatcher = MakeDispatcher(&counter);
  ASSERT_EQ(dispatcher->RunOnce().value(), due);
  std::vector<size_t> expected(due + 1, 1);
  expected[0] = due;
  EXPECT_EQ(counter.writes, expected);
  for (const auto& dest : receipt->destinations()) {
    EXPECT_EQ(OnlyDelivery(dest.delivery_id()).state, v1::DELIVERED);
  }
}

// A store that cannot write now is not asked once per outcome: the claims
// stay IN_FLIGHT and their leases bring the deliveries back.
TEST_F(DispatcherTest, ABatchAnUnavailableStoreRefusesWaitsForItsLeases) {
  auto receipt = factory_->Submit(ReferralFactory::Example("school-sex-trafficking-hartford", ""));
  const size_t due = static_cast<size_t>(receipt->destinations_size());
  OutcomeWriteCounter counter(*store_);
  counter.refusal = absl::UnavailableError("the writer is out of service");
  auto dispatcher = MakeDispatcher(&counter);
  ASSERT_EQ(dispatcher->RunOnce().value(), due);
  EXPECT_THAT(counter.writes, ::testing::ElementsAre(due));
  for (const auto& dest : receipt->destinations()) {
    EXPECT_EQ(OnlyDelivery(dest.delivery_id()).state, v1::IN_FLIGHT);
  }
}

TEST(BackoffTest, GrowsAndStaysWithinJitterBounds) {
  const BackoffPolicy policy{absl::Seconds(2), absl::Seconds(60)};
  FakeRandom random;
  for (uint32_t attempt = 1; attempt <= 10; ++attempt) {
    const absl::Duration ceiling = BackoffCeiling(policy, attempt);
    EXPECT_EQ(ceiling, std::min(absl::Seconds(2) * (1 << (attempt - 1)), absl::Seconds(60)));
    for (double f : {0.0, 0.5, 0.999999}) {
      random.fraction = f;
      const absl::Duration delay = RetryDelay(policy, attempt, random);
      EXPECT_GE(delay, ceiling / 2);
      EXPECT_LE(delay, ceiling);
    }
  }
}

}  // namespace
}  // namespace hart
