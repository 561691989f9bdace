// The push adapters' ContentLoader: the message is loaded elsewhere, the
// adapter continues on its loop, and a delivery whose adapter went away
// meanwhile is still answered exactly once (Deferred, not counted).
#include "adapters/common/content_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "adapters/common/adapter_io.h"

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

// Refuses every load at once, as a full store executor does.
class RefusingContent final : public DeliveryContent {
 public:
  absl::StatusOr<rv1::ReferralDelivery> Load(const DeliveryRecord&, bool) const override {
    return absl::UnavailableError("the store is busy; retry");
  }
};

DeliveryRecord Delivery(const std::string& id) {
  DeliveryRecord delivery;
  delivery.delivery_id = id;
  return delivery;
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
      [&](ContentLoader::Message message, Adapter::DoneCallback done) {
        continued_on = std::this_thread::get_id();
        loaded_id = message.ok() ? message->delivery_id() : "";
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

TEST(ContentLoaderTest, ARefusedLoadReachesTheContinuationAsAnError) {
  AdapterIo io(1);
  RefusingContent content;
  ContentLoader loader(content, io.context(), "test");
  absl::Notification continued;
  absl::Status status;
  loader.Load(
      Delivery("dlv_1"), false, [](DeliveryResult) {},
      [&](ContentLoader::Message message, Adapter::DoneCallback done) {
        status = message.status();
        done(DeliveryResult::Failed(message.status()));
        continued.Notify();
      });
  ASSERT_TRUE(continued.WaitForNotificationWithTimeout(kBound));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
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
        [&](ContentLoader::Message, Adapter::DoneCallback done) {
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
