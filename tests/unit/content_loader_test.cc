// The push adapters' ContentLoader: the message is loaded elsewhere, the
// adapter continues on its loop, a message that could not be loaded is
// answered by the loader (deferred when the cause is passing, failed with
// the store's code when not), and a delivery whose adapter went away
// meanwhile is still answered exactly once (Deferred, not counted).
#include "adapters/common/content_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "adapters/common/adapter_io.h"
#include "adapters/common/message_loads.h"

namespace hart::adapters {
namespace {

namespace rv1 = ::hart::referral::v1;
constexpr absl::Duration kBound = absl::Seconds(10);

// Holds each load until the test completes it, as a busy store would.
class HeldContent final : public DeliveryContent {
 public:
  absl::StatusOr<rv1::ReferralDelivery> Load(const DeliveryRecord&, bool) const override {
    return absl::InternalError("the loader must not block on Load");
  }
  void LoadAsync(const DeliveryRecord& delivery, bool, Loaded done) const override {
    absl::MutexLock lock(&mu_);
    held_.push_back({delivery.delivery_id, std::move(done)});
  }
  // Completes the oldest held load with a message naming its delivery.
  void CompleteOldest() {
    std::pair<std::string, Loaded> load;
    {
      absl::MutexLock lock(&mu_);
      ASSERT_FALSE(held_.empty());
      load = std::move(held_.front());
      held_.erase(held_.begin());
    }
    rv1::ReferralDelivery message;
    message.set_delivery_id(load.first);
    load.second(std::move(message));
  }

 private:
  mutable absl::Mutex mu_;
  mutable std::vector<std::pair<std::string, Loaded>> held_ ABSL_GUARDED_BY(mu_);
};

// Refuses every load at once with `why`, as a full store executor does
// (UNAVAILABLE) or a store that lost the referral (NOT_FOUND).
class RefusingContent final : public DeliveryContent {
 public:
  explicit RefusingContent(absl::Status why) : why_(std::move(why)) {}
  absl::StatusOr<rv1::ReferralDelivery> Load(const DeliveryRecord&, bool) const override {
    return why_;
  }

 private:
  const absl::Status why_;
};

DeliveryRecord Delivery(const std::string& id) {
  DeliveryRecord delivery;
  delivery.delivery_id = id;
  return delivery;
}

// A delivery claimed `age` after it was created (the claim stamps
// last_attempt_at).
DeliveryRecord ClaimedAtAge(const std::string& id, absl::Duration age) {
  DeliveryRecord delivery = Delivery(id);
  delivery.created_at = absl::FromUnixSeconds(1'800'000'000);
  delivery.last_attempt_at = delivery.created_at + age;
  return delivery;
}

// Loads `delivery` from `content` and returns how the loader answered;
// fails the test if the adapter's continuation ran.
DeliveryResult AnswerWithout(const DeliveryContent& content, const DeliveryRecord& delivery) {
  AdapterIo io(1);
  ContentLoader loader(content, io.context(), "test");
  absl::Notification answered;
  std::optional<DeliveryResult> result;
  loader.Load(
      delivery, false,
      [&](DeliveryResult r) {
        result = std::move(r);
        answered.Notify();
      },
      [](const DeliveryRecord&, const rv1::ReferralDelivery&, Adapter::DoneCallback done) {
        ADD_FAILURE() << "a message that was not loaded reached the adapter";
        done(DeliveryResult::Delivered("sent without a message"));
      });
  EXPECT_TRUE(answered.WaitForNotificationWithTimeout(kBound));
  return result.value_or(DeliveryResult::Delivered("never answered"));
}

TEST(ContentLoaderTest, ContinuesOnTheLoopWithTheLoadedMessage) {
  AdapterIo io(1);
  HeldContent content;
  ContentLoader loader(content, io.context(), "test");
  absl::Notification continued, answered;
  std::thread::id continued_on;
  std::string loaded_id;
  std::optional<DeliveryResult> result;
  loader.Load(
      Delivery("dlv_1"), false, [&](DeliveryResult r) {
        result = std::move(r);
        answered.Notify();
      },
      [&](const DeliveryRecord& delivery, const rv1::ReferralDelivery& message,
          Adapter::DoneCallback done) {
        continued_on = std::this_thread::get_id();
        EXPECT_EQ(delivery.delivery_id, "dlv_1");
        loaded_id = message.delivery_id();
        continued.Notify();
        done(DeliveryResult::Delivered("ok"));
      });
  content.CompleteOldest();
  ASSERT_TRUE(continued.WaitForNotificationWithTimeout(kBound));
  ASSERT_TRUE(answered.WaitForNotificationWithTimeout(kBound));
  EXPECT_EQ(loaded_id, "dlv_1");
  EXPECT_NE(continued_on, std::this_thread::get_id()) << "must continue on the loop";
  EXPECT_TRUE(result->status.ok());
}

// The store busy: the partner was never contacted, so nothing may count
// against it (no attempt, and a Deferred answer its circuit does not count).
TEST(ContentLoaderTest, ABusyStoreDefersTheDeliveryWithoutReachingTheAdapter) {
  RefusingContent content(absl::UnavailableError("the store is busy; retry"));
  const DeliveryResult result = AnswerWithout(content, ClaimedAtAge("dlv_1", absl::ZeroDuration()));
  EXPECT_EQ(result.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(result.status.message()),
              ::testing::AllOf(::testing::HasSubstr("test: loading delivery dlv_1"),
                               ::testing::HasSubstr("the store is busy")));
  EXPECT_FALSE(result.attempted) << "the broker's own trouble must not spend an attempt";
  EXPECT_FALSE(result.holds_destination);
  ASSERT_TRUE(result.retry_after.has_value());
  EXPECT_GE(*result.retry_after, absl::Milliseconds(500));
  EXPECT_LE(*result.retry_after, absl::Seconds(1));
}

TEST(ContentLoaderTest, ALoadThatCannotSucceedFailsTheAttemptWithTheStoresCode) {
  for (const absl::Status& why : {absl::NotFoundError("no such referral"),
                                  absl::DataLossError("the referral's data is unreadable")}) {
    RefusingContent content(why);
    const DeliveryResult result = AnswerWithout(content, ClaimedAtAge("dlv_1", absl::Seconds(3)));
    EXPECT_EQ(result.status.code(), why.code());
    EXPECT_TRUE(result.attempted) << why;
    EXPECT_FALSE(result.retry_after.has_value()) << why;
  }
}

// Half the age at the claim, within [1 s, 5 min], times [0.5, 1] by id.
TEST(MessageRetryDelayTest, GrowsWithTheDeliverysAgeWithinItsBounds) {
  struct Case {
    absl::Duration age, low, high;
  };
  for (const Case& c : {Case{absl::ZeroDuration(), absl::Milliseconds(500), absl::Seconds(1)},
                        Case{absl::Seconds(10), absl::Milliseconds(2500), absl::Seconds(5)},
                        Case{absl::Seconds(80), absl::Seconds(20), absl::Seconds(40)},
                        Case{absl::Hours(5), absl::Seconds(150), absl::Minutes(5)}}) {
    for (int i = 0; i < 20; ++i) {
      const absl::Duration delay =
          MessageRetryDelay(ClaimedAtAge(absl::StrCat("dlv_", i), c.age));
      EXPECT_GE(delay, c.low) << c.age << " " << i;
      EXPECT_LE(delay, c.high) << c.age << " " << i;
    }
  }
  // Never claimed (no last_attempt_at): the shortest.
  EXPECT_LE(MessageRetryDelay(Delivery("dlv_new")), absl::Seconds(1));
}

TEST(MessageRetryDelayTest, SpreadsDeliveriesDeferredTogetherTheSameWayEachTime) {
  std::set<absl::Duration> delays;
  for (int i = 0; i < 20; ++i) {
    const DeliveryRecord delivery = ClaimedAtAge(absl::StrCat("dlv_", i), absl::Minutes(10));
    const absl::Duration delay = MessageRetryDelay(delivery);
    EXPECT_EQ(delay, MessageRetryDelay(delivery)) << "the same delivery, the same delay";
    delays.insert(delay);
  }
  EXPECT_GE(delays.size(), 10u) << "twenty deliveries deferred together must come back apart";
}

TEST(ContentLoaderTest, ALoadThatOutlivesItsAdapterIsAnsweredDeferredOnce) {
  AdapterIo io(1);
  HeldContent content;
  absl::Mutex mu;
  std::vector<DeliveryResult> answers;
  bool continued = false;
  {
    ContentLoader loader(content, io.context(), "test");
    loader.Load(
        Delivery("dlv_1"), false,
        [&](DeliveryResult r) {
          absl::MutexLock lock(&mu);
          answers.push_back(std::move(r));
        },
        [&](const DeliveryRecord&, const rv1::ReferralDelivery&, Adapter::DoneCallback done) {
          continued = true;
          done(DeliveryResult::Delivered("too late"));
        });
  }  // the adapter (and its loader) is gone; the store answers only now
  content.CompleteOldest();
  absl::MutexLock lock(&mu);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_FALSE(continued);
  EXPECT_EQ(answers[0].status.code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(answers[0].attempted) << "a shutdown must not spend an attempt";
}

}  // namespace
}  // namespace hart::adapters
