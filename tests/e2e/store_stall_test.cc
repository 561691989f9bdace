// One store call that hangs holds up only its own RPC. The real broker
// (every gRPC service, the dispatcher, the feeds) runs in-process over mTLS
// on a store wrapped so that one GetReferral blocks until the test lets it
// go; meanwhile health checks, other RPCs and other agencies' deliveries
// must go on within their deadlines.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <pthread.h>

#include <chrono>
#include <set>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "broker/server/broker_server.h"
#include "broker/store/store_executor.h"
#include "broker/store/store_wrapper.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "hart/referral/v1/feed.grpc.pb.h"
#include "hart/referral/v1/intake.grpc.pb.h"
#include "hart/referral/v1/supervisor.grpc.pb.h"
#include "tests/e2e/broker_process.h"
#include "tests/e2e/in_process_broker.h"

namespace hart::testing {
namespace {

// A store whose next GetReferral of one referral blocks until Release().
class StallingStore final : public StoreWrapper {
 public:
  using StoreWrapper::StoreWrapper;
  ~StallingStore() override { Release(); }

  void StallNextRead(const std::string& referral_id) {
    absl::MutexLock lock(&mu_);
    stall_id_ = referral_id;
  }
  // True once the stalled call is blocked (bounded wait).
  bool WaitUntilStalled() { return stalled_.WaitForNotificationWithTimeout(absl::Seconds(10)); }
  void Release() {
    absl::MutexLock lock(&mu_);
    if (!released_.HasBeenNotified()) released_.Notify();
  }
  // The name of the thread the stalled call ran on.
  std::string stalled_thread() {
    absl::MutexLock lock(&mu_);
    return stalled_thread_;
  }

  absl::StatusOr<ReferralRecord> GetReferral(const std::string& referral_id) override {
    bool stall = false;
    {
      absl::MutexLock lock(&mu_);
      stall = !stall_id_.empty() && referral_id == stall_id_;
      if (stall) {
        stall_id_.clear();  // one call only
        char name[16] = {};
        pthread_getname_np(pthread_self(), name, sizeof name);
        stalled_thread_ = name;
      }
    }
    if (stall) {
      stalled_.Notify();
      // Bounded, so a broken test cannot hang the suite.
      released_.WaitForNotificationWithTimeout(absl::Seconds(60));
    }
    return StoreWrapper::GetReferral(referral_id);
  }

 private:
  absl::Mutex mu_;
  std::string stall_id_ ABSL_GUARDED_BY(mu_);
  std::string stalled_thread_ ABSL_GUARDED_BY(mu_);
  absl::Notification stalled_;
  absl::Notification released_;
};

std::unique_ptr<grpc::ClientContext> ContextWithDeadline(std::chrono::seconds seconds) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + seconds);
  return context;
}

// The delivery id `receipt` sends to `agency_id`; empty if none.
std::string DeliveryTo(const v1::Receipt& receipt, const std::string& agency_id) {
  for (const auto& destination : receipt.destinations()) {
    if (destination.agency_id() == agency_id) return destination.delivery_id();
  }
  return "";
}

// Reads the stream until the delivery `delivery_id` arrives (true) or it ends.
bool ReadUntil(grpc::ClientReaderInterface<v1::FeedEvent>& reader,
               const std::string& delivery_id) {
  v1::FeedEvent event;
  while (reader.Read(&event)) {
    if (event.has_delivery() && event.delivery().delivery_id() == delivery_id) return true;
  }
  return false;
}

class StoreStallTest : public ::testing::Test {
 protected:
  void StartBroker(uint32_t executor_threads, uint32_t executor_queue_limit) {
    auto server = StartInProcessBroker(dir_.path(), [&](BrokerServerOptions& options) {
      options.config.mutable_store()->set_executor_threads(executor_threads);
      options.config.mutable_store()->set_executor_queue_limit(executor_queue_limit);
      options.wrap_store = [this](Store& opened) {
        auto wrapper = std::make_unique<StallingStore>(opened);
        store_ = wrapper.get();
        return wrapper;
      };
    });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  void TearDown() override {
    ReleaseStalledCall();
    if (server_) server_->Shutdown();
  }

  std::shared_ptr<grpc::Channel> Channel(const std::string& cert_name) const {
    return InProcessChannel(server_->port(), cert_name);
  }

  // Stalls the supervisor's next GetReferral of `referral_id` from another
  // thread; the stall is released and the call joined when the test ends.
  void StallGetReferral(const std::string& referral_id) {
    store_->StallNextRead(referral_id);
    stalled_call_ = std::thread([this, referral_id] {
      v1::GetReferralRequest request;
      request.set_referral_id(referral_id);
      auto context = ContextWithDeadline(std::chrono::seconds(60));
      stalled_status_ = v1::SupervisorService::NewStub(Channel("supervisor"))
                            ->GetReferral(context.get(), request, &stalled_response_);
    });
  }
  void ReleaseStalledCall() {
    if (store_ != nullptr) store_->Release();
    if (stalled_call_.joinable()) stalled_call_.join();
  }

  // A referral only feed partners receive: no push adapter reads it, so
  // the one stalled read is the supervisor's.
  v1::Receipt SubmitFeedOnlyReferral() {
    v1::Receipt receipt = Submit("school-sex-trafficking-hartford");
    for (const auto& destination : receipt.destinations()) {
      EXPECT_TRUE(IsFeedAgency(destination.agency_id())) << destination.agency_id();
    }
    return receipt;
  }

  v1::Receipt Submit(const std::string& example) { return Submit(LoadIntake(example)); }
  v1::Receipt Submit(const v1::Intake& intake) {
    v1::SubmitIntakeRequest request;
    *request.mutable_intake() = intake;
    v1::SubmitIntakeResponse response;
    auto context = ContextWithDeadline(std::chrono::seconds(5));
    const grpc::Status status =
        v1::IntakeService::NewStub(Channel("careline"))
            ->SubmitIntake(context.get(), request, &response);
    EXPECT_TRUE(status.ok()) << intake.careline_report_id() << ": " << status.error_message();
    return response.receipt();
  }

  TempDir dir_;
  StallingStore* store_ = nullptr;  // owned by the server
  std::unique_ptr<BrokerServer> server_;
  std::thread stalled_call_;
  grpc::Status stalled_status_;
  v1::ReferralStatus stalled_response_;
};

TEST_F(StoreStallTest, OneHungStoreCallHoldsUpOnlyItsOwnRpc) {
  // Two workers: with one stalled, everything else shares the other.
  StartBroker(/*executor_threads=*/2, /*executor_queue_limit=*/4096);
  ASSERT_TRUE(server_);
  const v1::Receipt stalled = SubmitFeedOnlyReferral();
  std::set<std::string> stalled_agencies;
  for (const auto& destination : stalled.destinations()) {
    stalled_agencies.insert(destination.agency_id());
  }
  StallGetReferral(stalled.referral_id());
  ASSERT_TRUE(store_->WaitUntilStalled());
  // The RPC's store call waits on a store worker, not on a gRPC thread.
  EXPECT_THAT(store_->stalled_thread(), ::testing::StartsWith(StoreExecutor::kThreadNamePrefix));
  auto supervisor = v1::SupervisorService::NewStub(Channel("supervisor"));

  // (a) The health service answers.
  {
    auto health = grpc::health::v1::Health::NewStub(Channel("operator"));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    auto context = ContextWithDeadline(std::chrono::seconds(5));
    const grpc::Status status = health->Check(context.get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  }

  // (b) A submission, another referral's GetReferral and ListReferrals
  // answer within their deadlines.
  const v1::Receipt other = Submit("labor-trafficking-waterbury");
  ASSERT_FALSE(other.referral_id().empty());
  {
    v1::GetReferralRequest request;
    request.set_referral_id(other.referral_id());
    v1::ReferralStatus response;
    auto context = ContextWithDeadline(std::chrono::seconds(5));
    const grpc::Status status = supervisor->GetReferral(context.get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.referral_id(), other.referral_id());
    EXPECT_EQ(response.deliveries_size(), other.destinations_size());
  }
  {
    v1::ListReferralsRequest request;
    v1::ListReferralsResponse response;
    auto context = ContextWithDeadline(std::chrono::seconds(5));
    const grpc::Status status = supervisor->ListReferrals(context.get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.referrals_size(), 2);
  }

  // (c) Another agency's feed delivers: the event waiting when it
  // subscribes, then one committed while it is subscribed (a live wake-up).
  std::string agency, delivery_id;
  for (const auto& destination : other.destinations()) {
    if (IsFeedAgency(destination.agency_id()) && !stalled_agencies.count(destination.agency_id())) {
      agency = destination.agency_id();
      delivery_id = destination.delivery_id();
      break;
    }
  }
  ASSERT_FALSE(agency.empty()) << "the second example needs a feed agency of its own";
  {
    auto feed = v1::FeedService::NewStub(Channel("agency-" + agency));
    auto context = ContextWithDeadline(std::chrono::seconds(10));
    auto reader = feed->Subscribe(context.get(), v1::SubscribeRequest());
    EXPECT_TRUE(ReadUntil(*reader, delivery_id)) << agency << " did not receive " << delivery_id;

    v1::Intake again = LoadIntake("labor-trafficking-waterbury");
    again.set_careline_report_id("CL-2026-904213");  // a new report, not a retry
    const std::string live_id = DeliveryTo(Submit(again), agency);
    ASSERT_FALSE(live_id.empty());
    EXPECT_TRUE(ReadUntil(*reader, live_id)) << agency << " did not receive " << live_id;
    context->TryCancel();
    reader->Finish();
  }

  // The hung call was waiting all along; released, it answers in full.
  ReleaseStalledCall();
  ASSERT_TRUE(stalled_status_.ok()) << stalled_status_.error_message();
  EXPECT_EQ(stalled_response_.referral_id(), stalled.referral_id());
}

// Verifies the bound: with the only worker stalled and the queue full, a
// call is answered UNAVAILABLE at once (the client retries) instead of
// waiting out its deadline.
TEST_F(StoreStallTest, AFullStoreQueueAnswersUnavailableAtOnce) {
  StartBroker(/*executor_threads=*/1, /*executor_queue_limit=*/1);
  ASSERT_TRUE(server_);
  const v1::Receipt stalled = SubmitFeedOnlyReferral();
  StallGetReferral(stalled.referral_id());
  ASSERT_TRUE(store_->WaitUntilStalled());

  auto supervisor = v1::SupervisorService::NewStub(Channel("supervisor"));
  // The first call takes the one queue slot (and times out waiting); the
  // next finds the queue full. Nothing else uses the store meanwhile.
  grpc::Status status;
  for (int call = 0; call < 5; ++call) {
    v1::ListReferralsRequest request;
    v1::ListReferralsResponse response;
    auto context = ContextWithDeadline(std::chrono::seconds(1));
    status = supervisor->ListReferrals(context.get(), request, &response);
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE) break;  // before its deadline
    EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << status.error_message();
  }
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  // The edge redacts UNAVAILABLE to its fixed retry message with a reference.
  EXPECT_THAT(status.error_message(),
              ::testing::StartsWith("the broker is temporarily unavailable; retry later; reference "));

  // Released, the stalled call answers; the queued one, long given up, is
  // skipped, and the store serves again.
  ReleaseStalledCall();
  EXPECT_TRUE(stalled_status_.ok()) << stalled_status_.error_message();
  EXPECT_TRUE(WaitFor([&] {
    v1::ListReferralsRequest request;
    v1::ListReferralsResponse response;
    auto context = ContextWithDeadline(std::chrono::seconds(5));
    return supervisor->ListReferrals(context.get(), request, &response).ok();
  }));
}

}  // namespace
}  // namespace hart::testing
