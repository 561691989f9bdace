#include "broker/feed/feed_cursor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "adapters/grpc_feed/grpc_feed_adapter.h"
#include "broker/feed/feed_appender.h"
#include "broker/feed/feed_hub.h"
#include "broker/acks/ack_recorder.h"
#include "broker/dispatch/dispatcher.h"
#include "tests/support/referral_factory.h"

namespace hart::feed {
namespace {

using hart::grpc_feed::GrpcFeedAdapterFactory;
using hart::testing::FakeRandom;
using hart::testing::ReferralFactory;
using hart::testing::TempDir;
using hart::testing::TestNow;
using hart::testing::WaitFor;

// Drives the real grpc_feed adapter through the dispatcher, with a manual
// clock, and reads the feeds the way a subscription does.
class FeedCursorTest : public ::testing::Test {
 protected:
  FeedCursorTest() : clock_(TestNow()) {
    store_ = std::move(OpenSqliteStore(dir_.path()).value());
    factory_ = std::make_unique<ReferralFactory>(*store_, clock_);
    // The broker's wiring: the queue's after-commit hook wakes the feeds.
    writes_ = std::make_unique<WriteQueue>(
        *store_, 64, [this](auto, auto committed) { feed::PublishHeads(hub_, committed); });
    appender_ = std::make_unique<FeedAppender>(*writes_, clock_);
    GrpcFeedAdapterFactory adapter_factory(appender_.get());
    std::map<std::string, Adapter*> by_agency;
    for (const auto& agency : hart::testing::ConnecticutConfig().agencies()) {
      adapters_.push_back(adapter_factory.Create(agency.id(), {}, {}).value());
      by_agency[agency.id()] = adapters_.back().get();
    }
    dispatcher_ = std::make_unique<Dispatcher>(*store_, by_agency, clock_, random_,
                                               DispatchPolicy{});
    published_ = hub_.Listen("hartford-pd", [this](uint64_t head) { head_ = head; });
  }
  ~FeedCursorTest() override { hub_.Unlisten(published_); }

  // Submits an example and dispatches it onto the feeds.
  v1::Receipt SubmitAndDispatch(const std::string& suffix) {
    auto receipt =
        factory_->Submit(ReferralFactory::Example("school-sex-trafficking-hartford", suffix));
    EXPECT_TRUE(receipt.ok());
    const uint64_t before = head_;
    EXPECT_GT(dispatcher_->RunOnce().value(), 0u);
    EXPECT_TRUE(WaitFor([&] { return head_ > before; }));
    return *receipt;
  }
  std::vector<CursorEvent> ReadAll(FeedCursor& cursor) {
    std::vector<CursorEvent> all;
    for (;;) {
      auto page = cursor.NextPage();
      EXPECT_TRUE(page.ok());
      if (page->empty()) return all;
      for (auto& e : *page) all.push_back(std::move(e));
    }
  }
  static std::string HartfordDelivery(const v1::Receipt& r) {
    for (const auto& d : r.destinations()) {
      if (d.agency_id() == "hartford-pd") return d.delivery_id();
    }
    return "";
  }

  TempDir dir_;
  ManualClock clock_;
  FakeRandom random_;
  FeedHub hub_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ReferralFactory> factory_;
  StoreExecutor executor_;  // after the factory: destroyed first, its tasks drained
  std::unique_ptr<WriteQueue> writes_;
  std::unique_ptr<FeedAppender> appender_;
  std::vector<std::unique_ptr<Adapter>> adapters_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::atomic<uint64_t> head_{0};
  FeedHub::Token published_;
};

TEST_F(FeedCursorTest, ReplaysEverythingAfterTheCursorInSequenceOrder) {
  const auto r1 = SubmitAndDispatch("-1");
  const auto r2 = SubmitAndDispatch("-2");
  const auto r3 = SubmitAndDispatch("-3");
  FeedCursor from_start(*store_, "hartford-pd", 0, 2);  // pages of 2
  auto events = ReadAll(from_start);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].entry.sequence, 1u);
  EXPECT_EQ(events[2].entry.sequence, 3u);
  EXPECT_EQ(events[0].entry.delivery.delivery_id, HartfordDelivery(r1));
  EXPECT_EQ(events[2].entry.delivery.delivery_id, HartfordDelivery(r3));
  EXPECT_FALSE(events[0].redelivery);
  EXPECT_EQ(from_start.position(), 3u);

  FeedCursor resumed(*store_, "hartford-pd", 2, 64);
  AckRecorder acks(*store_, factory_->writes(), executor_, clock_);
  for (const auto& r : {r1, r2}) {
    ASSERT_TRUE(acks.Acknowledge("hartford-pd", HartfordDelivery(r), v1::Acknowledgement::RECEIVED,
                                 "", "agency/hartford-pd").ok());
  }
  events = ReadAll(resumed);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].entry.delivery.delivery_id, HartfordDelivery(r3));
}

// A cursor past the head holds sequences this store never committed (it
// was restored from an older backup): the next appends would reuse them
// and the partner would skip them. Refused, naming the head; a cursor at
// the head is served as ever.
TEST_F(FeedCursorTest, ACursorPastTheFeedsHeadIsRefusedNamingTheHead) {
  SubmitAndDispatch("-1");
  SubmitAndDispatch("-2");
  FeedCursor past(*store_, "hartford-pd", 3, 64);
  auto page = past.NextPage();
  ASSERT_EQ(page.status().code(), absl::StatusCode::kOutOfRange) << page.status();
  EXPECT_THAT(page.status().message(),
              ::testing::HasSubstr("resume_after 3 is past the last event on this feed (2)"));

  FeedCursor at_head(*store_, "hartford-pd", 2, 64);
  auto events = ReadAll(at_head);  // the two never received, again
  ASSERT_EQ(events.size(), 2u);
  EXPECT_TRUE(events[0].redelivery && events[1].redelivery);
  SubmitAndDispatch("-3");
  events = ReadAll(at_head);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].entry.sequence, 3u);
  EXPECT_FALSE(events[0].redelivery);
}

TEST_F(FeedCursorTest, SentButNeverReceivedIsSentAgainOnTheNextSubscription) {
  const auto r1 = SubmitAndDispatch("-1");
  const auto r2 = SubmitAndDispatch("-2");
  AckRecorder acks(*store_, factory_->writes(), executor_, clock_);
  // The subscriber processed up to 2 but only acknowledged r2.
  ASSERT_TRUE(acks.Acknowledge("hartford-pd", HartfordDelivery(r2), v1::Acknowledgement::RECEIVED,
                               "", "agency/hartford-pd").ok());
  const auto r3 = SubmitAndDispatch("-3");
  FeedCursor cursor(*store_, "hartford-pd", 2, 64);
  const auto events = ReadAll(cursor);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_TRUE(events[0].redelivery);
  EXPECT_EQ(events[0].entry.delivery.delivery_id, HartfordDelivery(r1));
  EXPECT_EQ(events[0].entry.sequence, 1u);
  EXPECT_FALSE(events[1].redelivery);
  EXPECT_EQ(events[1].entry.delivery.delivery_id, HartfordDelivery(r3));
}

TEST_F(FeedCursorTest, AcknowledgedDeliveriesAreNotRedelivered) {
  const auto r1 = SubmitAndDispatch("-1");
  AckRecorder acks(*store_, factory_->writes(), executor_, clock_);
  ASSERT_TRUE(acks.Acknowledge("hartford-pd", HartfordDelivery(r1), v1::Acknowledgement::ACCEPTED,
                               "", "agency/hartford-pd").ok());
  FeedCursor cursor(*store_, "hartford-pd", 1, 64);
  EXPECT_TRUE(ReadAll(cursor).empty());
  EXPECT_EQ(store_->GetDelivery(HartfordDelivery(r1))->state, v1::ACKNOWLEDGED);
}

TEST_F(FeedCursorTest, HandedOffDeliveriesAreNotClaimedAgainWhenTheLeaseExpires) {
  SubmitAndDispatch("-1");
  clock_.Advance(absl::Hours(2));  // far past the claim lease
  EXPECT_EQ(dispatcher_->RunOnce().value(), 0u);
  EXPECT_EQ(store_->FeedHead("hartford-pd").value(), 1u);
}

TEST_F(FeedCursorTest, AnAgencyCannotAcknowledgeAnotherAgencysDelivery) {
  const auto r1 = SubmitAndDispatch("-1");
  AckRecorder acks(*store_, factory_->writes(), executor_, clock_);
  auto result = acks.Acknowledge("csao", HartfordDelivery(r1), v1::Acknowledgement::ACCEPTED, "",
                                 "agency/csao");
  EXPECT_EQ(result.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(store_->GetDelivery(HartfordDelivery(r1))->state, v1::IN_FLIGHT);
}

}  // namespace
}  // namespace hart::feed
