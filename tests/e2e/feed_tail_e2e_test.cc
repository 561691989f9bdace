// A caught-up feed subscriber is sent what new intakes put on its feed
// from the feeds' tail in memory (broker/feed/feed_tail.h), not read back
// from the store, and what it is sent is what the store holds. The real
// broker runs in-process over mTLS on a store that counts its feed reads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <google/protobuf/util/message_differencer.h>

#include <atomic>
#include <chrono>
#include <vector>

#include "broker/server/broker_server.h"
#include "broker/store/store_wrapper.h"
#include "hart/referral/v1/feed.grpc.pb.h"
#include "hart/referral/v1/intake.grpc.pb.h"
#include "tests/e2e/broker_process.h"
#include "tests/e2e/in_process_broker.h"

namespace hart::testing {
namespace {

constexpr char kAgency[] = "hartford-pd";

// Counts the feed reads that have returned.
class CountingStore final : public StoreWrapper {
 public:
  using StoreWrapper::StoreWrapper;

  absl::StatusOr<std::vector<FeedEntry>> ReadFeed(const std::string& agency_id,
                                                  uint64_t after_sequence,
                                                  size_t limit) override {
    auto entries = StoreWrapper::ReadFeed(agency_id, after_sequence, limit);
    ++reads_;
    return entries;
  }
  absl::StatusOr<std::vector<FeedEntry>> ReadUnreceivedFeed(const std::string& agency_id,
                                                            uint64_t after_sequence,
                                                            uint64_t up_to_sequence,
                                                            size_t limit) override {
    auto entries = StoreWrapper::ReadUnreceivedFeed(agency_id, after_sequence, up_to_sequence,
                                                    limit);
    ++unreceived_reads_;
    return entries;
  }

  int reads() const { return reads_.load(); }
  int unreceived_reads() const { return unreceived_reads_.load(); }

 private:
  std::atomic<int> reads_{0};
  std::atomic<int> unreceived_reads_{0};
};

std::unique_ptr<grpc::ClientContext> ContextWithDeadline(std::chrono::seconds seconds) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + seconds);
  return context;
}

// The next delivery event of the stream, heartbeats skipped; false when it ends.
bool ReadDelivery(grpc::ClientReaderInterface<v1::FeedEvent>& reader, v1::FeedEvent* event) {
  while (reader.Read(event)) {
    if (event->has_delivery()) return true;
  }
  return false;
}

// What a partner compares: the event without when it was sent and whether
// it was a redelivery.
v1::FeedEvent Comparable(v1::FeedEvent event) {
  event.clear_sent_at();
  event.mutable_delivery()->set_redelivery(false);
  return event;
}

class FeedTailE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = StartInProcessBroker(dir_.path(), [this](BrokerServerOptions& options) {
      options.wrap_store = [this](Store& opened) {
        auto wrapper = std::make_unique<CountingStore>(opened);
        store_ = wrapper.get();
        return wrapper;
      };
    });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  std::shared_ptr<grpc::Channel> Channel(const std::string& cert_name) const {
    return InProcessChannel(server_->port(), cert_name);
  }

  // Submits the Hartford example under a report id of its own; returns its
  // delivery to kAgency.
  std::string SubmitForAgency(int n) {
    v1::SubmitIntakeRequest request;
    *request.mutable_intake() = LoadIntake("school-sex-trafficking-hartford");
    request.mutable_intake()->set_careline_report_id(
        request.intake().careline_report_id() + "-tail-" + std::to_string(n));
    v1::SubmitIntakeResponse response;
    auto context = ContextWithDeadline(std::chrono::seconds(5));
    const grpc::Status status =
        v1::IntakeService::NewStub(Channel("careline"))
            ->SubmitIntake(context.get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    for (const auto& destination : response.receipt().destinations()) {
      if (destination.agency_id() == kAgency) return destination.delivery_id();
    }
    ADD_FAILURE() << "the example is not routed to " << kAgency;
    return "";
  }

  TempDir dir_;
  CountingStore* store_ = nullptr;  // owned by the server
  std::unique_ptr<BrokerServer> server_;
};

TEST_F(FeedTailE2eTest, ACaughtUpSubscriberIsSentNewIntakesFromMemoryAsTheStoreHoldsThem) {
  ASSERT_TRUE(IsFeedAgency(kAgency));
  auto feed = v1::FeedService::NewStub(Channel(std::string("agency-") + kAgency));

  // Live: subscribed to an empty feed, caught up after one read.
  auto live_context = ContextWithDeadline(std::chrono::seconds(30));
  auto live = feed->Subscribe(live_context.get(), v1::SubscribeRequest());
  ASSERT_TRUE(WaitFor([&] { return store_->reads() >= 1; }));
  const int reads_when_caught_up = store_->reads();
  std::vector<v1::FeedEvent> sent;
  for (int n = 1; n <= 5; ++n) {
    const std::string delivery_id = SubmitForAgency(n);
    v1::FeedEvent event;
    ASSERT_TRUE(ReadDelivery(*live, &event)) << "intake " << n;
    EXPECT_EQ(event.delivery().delivery_id(), delivery_id);
    EXPECT_EQ(event.sequence(), static_cast<uint64_t>(n));
    EXPECT_FALSE(event.delivery().redelivery());
    sent.push_back(event);
  }
  // Neither the five events nor an empty page after each came from the store.
  EXPECT_EQ(store_->reads(), reads_when_caught_up);
  live_context->TryCancel();
  (void)live->Finish();

  // Resumed after all five, none acknowledged: they are sent again, read
  // from the store this time, and match what was sent live.
  auto resumed_context = ContextWithDeadline(std::chrono::seconds(30));
  v1::SubscribeRequest resume;
  resume.set_resume_after(5);
  auto resumed = feed->Subscribe(resumed_context.get(), resume);
  for (const v1::FeedEvent& live_event : sent) {
    v1::FeedEvent event;
    ASSERT_TRUE(ReadDelivery(*resumed, &event));
    EXPECT_TRUE(event.delivery().redelivery());
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(Comparable(event),
                                                                   Comparable(live_event)))
        << "from the store: " << event.ShortDebugString()
        << "\nsent live: " << live_event.ShortDebugString();
  }
  EXPECT_GE(store_->unreceived_reads(), 1);
  resumed_context->TryCancel();
  (void)resumed->Finish();
}

}  // namespace
}  // namespace hart::testing
