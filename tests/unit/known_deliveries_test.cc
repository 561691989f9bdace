// KnownDeliveries: what it keeps of the writer queue's commits; and an
// AckRecorder deciding from it, over a real SQLite store and the broker's
// writer queue: no read for a delivery just put on a feed, a stale guess
// losing the compare-and-set and decided again from the store, a guess
// that would write nothing checked against the store.
#include "broker/acks/known_deliveries.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <set>

#include "broker/acks/ack_recorder.h"
#include "tests/support/ack_test_support.h"

namespace hart {
namespace {

using hart::testing::ReadCountingStore;
using hart::testing::ReferralFactory;
using hart::testing::TempDir;
using hart::testing::TestNow;

DeliveryRecord Delivery(const std::string& id, const std::string& agency) {
  DeliveryRecord d;
  d.delivery_id = id;
  d.referral_id = "ref_1";
  d.agency_id = agency;
  d.agency_kind = v1::LOCAL_LAW_ENFORCEMENT;
  d.state = v1::IN_FLIGHT;
  d.created_at = TestNow();
  return d;
}

// An intake whose deliveries `on_feed_now` went on their feed in its own
// transaction; `on_feed_before` was on its feed already; the rest were not
// put on a feed.
std::pair<WriteRequest, absl::StatusOr<WriteResult>> Intake(
    const std::vector<std::string>& on_feed_now, const std::vector<std::string>& on_feed_before,
    const std::vector<std::string>& not_on_feed,
    CreateReferralResult::Outcome outcome = CreateReferralResult::Outcome::kCreated) {
  NewReferral item;
  CreateReferralResult created;
  created.outcome = outcome;
  uint64_t index = 10;
  for (const auto& id : on_feed_now) {
    item.deliveries.push_back(Delivery(id, "hartford-pd"));
    created.feed_appends.push_back({id, "hartford-pd", ++index, index});
  }
  for (const auto& id : on_feed_before) {
    item.deliveries.push_back(Delivery(id, "csao"));
    created.feed_appends.push_back({id, "csao", ++index, std::nullopt});
  }
  for (const auto& id : not_on_feed) {
    DeliveryRecord d = Delivery(id, "ncmec");
    d.state = v1::PENDING;
    item.deliveries.push_back(d);
  }
  return {WriteRequest(std::move(item)), WriteResult(std::move(created))};
}

std::pair<WriteRequest, absl::StatusOr<WriteResult>> Ack(const std::string& delivery_id,
                                                         v1::DeliveryState new_state) {
  AckWrite ack;
  ack.delivery_id = delivery_id;
  ack.expected_state = v1::IN_FLIGHT;
  ack.new_state = new_state;
  return {WriteRequest(std::move(ack)), WriteResult(AckApplied{42})};
}

void Commit(KnownDeliveries& known,
            std::vector<std::pair<WriteRequest, absl::StatusOr<WriteResult>>> items) {
  std::vector<WriteRequest> requests;
  std::vector<absl::StatusOr<WriteResult>> results;
  for (auto& [request, result] : items) {
    requests.push_back(std::move(request));
    results.push_back(std::move(result));
  }
  known.Remember(requests, results);
}

TEST(KnownDeliveriesTest, KeepsOnlyTheDeliveriesACreatedIntakePutOnItsFeed) {
  KnownDeliveries known;
  Commit(known, {Intake({"dlv_now"}, {"dlv_before"}, {"dlv_push"})});
  auto kept = known.Find("dlv_now");
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->state, v1::IN_FLIGHT);
  EXPECT_EQ(kept->agency_id, "hartford-pd");
  EXPECT_EQ(kept->referral_id, "ref_1");
  EXPECT_EQ(kept->agency_kind, v1::LOCAL_LAW_ENFORCEMENT);
  EXPECT_EQ(kept->created_at, TestNow());
  EXPECT_FALSE(known.Find("dlv_before").has_value()) << "not put on its feed by this write";
  EXPECT_FALSE(known.Find("dlv_push").has_value()) << "the dispatcher sends it, not the intake";
  EXPECT_EQ(known.size(), 1u);

  // A duplicate submission and an item refused on its own wrote nothing.
  auto duplicate = Intake({"dlv_dup"}, {}, {}, CreateReferralResult::Outcome::kDuplicate);
  auto refused = Intake({"dlv_refused"}, {}, {});
  refused.second = absl::InvalidArgumentError("refused");
  Commit(known, {std::move(duplicate), std::move(refused)});
  EXPECT_FALSE(known.Find("dlv_dup").has_value());
  EXPECT_FALSE(known.Find("dlv_refused").has_value());
}

TEST(KnownDeliveriesTest, FollowsAcksAndForgetsADeliveryAnAckFinished) {
  KnownDeliveries known;
  Commit(known, {Intake({"dlv_a", "dlv_b", "dlv_c"}, {}, {})});
  auto lost = Ack("dlv_c", v1::DELIVERED);
  lost.second = absl::AbortedError("lost the compare-and-set");
  Commit(known, {Ack("dlv_a", v1::DELIVERED), Ack("dlv_b", v1::ACKNOWLEDGED), std::move(lost),
                 Ack("dlv_unknown", v1::DELIVERED)});
  ASSERT_TRUE(known.Find("dlv_a").has_value());
  EXPECT_EQ(known.Find("dlv_a")->state, v1::DELIVERED);
  EXPECT_FALSE(known.Find("dlv_b").has_value()) << "ACCEPTED: nothing more to decide";
  ASSERT_TRUE(known.Find("dlv_c").has_value());
  EXPECT_EQ(known.Find("dlv_c")->state, v1::IN_FLIGHT) << "a failed ack changed nothing";
  EXPECT_FALSE(known.Find("dlv_unknown").has_value());
  Commit(known, {Ack("dlv_c", v1::DECLINED)});
  EXPECT_FALSE(known.Find("dlv_c").has_value());
}

TEST(KnownDeliveriesTest, KeepsAtMostItsCapacityTheOldestGoingFirst) {
  KnownDeliveries known(/*capacity=*/2);
  Commit(known, {Intake({"dlv_1", "dlv_2"}, {}, {})});
  Commit(known, {Intake({"dlv_3"}, {}, {})});
  EXPECT_FALSE(known.Find("dlv_1").has_value());
  EXPECT_TRUE(known.Find("dlv_2").has_value());
  EXPECT_TRUE(known.Find("dlv_3").has_value());
  EXPECT_EQ(known.size(), 2u);
}

// The recorder over a real store, its deliveries put on every agency's feed
// with the intake, the known deliveries following the writer queue's
// commits (while `following_`).
class KnownAckTest : public ::testing::Test {
 protected:
  KnownAckTest() : clock_(TestNow()) {
    store_ = std::move(OpenSqliteStore(dir_.path()).value());
    counting_ = std::make_unique<ReadCountingStore>(*store_);
    std::set<std::string> agencies;
    for (const auto& agency : hart::testing::ConnecticutConfig().agencies()) {
      agencies.insert(agency.id());
    }
    factory_ = std::make_unique<ReferralFactory>(
        *store_, clock_, feed::FeedPlacement(agencies),
        [this](auto requests, auto results) {
          if (following_) known_.Remember(requests, results);
        });
    acks_ = std::make_unique<AckRecorder>(*counting_, factory_->writes(), executor_, clock_,
                                          NoLadders::Instance(), nullptr, &known_);
  }

  std::map<std::string, std::string> SubmitExample(const std::string& suffix) {
    return hart::testing::SubmitExampleDeliveries(*factory_, suffix);
  }

  static AckRequest Request(const std::string& agency, const std::string& delivery_id,
                            v1::Acknowledgement::Kind kind) {
    return hart::testing::AgencyAck(agency, delivery_id, kind);
  }

  std::vector<absl::StatusOr<AckOutcome>> Batch(std::vector<AckRequest> requests) {
    return hart::testing::RunAckBatch(*acks_, std::move(requests));
  }

  v1::DeliveryState StateOf(const std::string& delivery_id) {
    return store_->GetDelivery(delivery_id).value().state;
  }

  std::string LastAuditDetail(const std::string& delivery_id) {
    AuditQuery query;
    query.delivery_id = delivery_id;
    auto events = store_->ListAuditEvents(query).value();
    return events.empty() ? "" : events.back().detail;
  }

  TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ReadCountingStore> counting_;
  KnownDeliveries known_;
  std::atomic<bool> following_{true};
  std::unique_ptr<ReferralFactory> factory_;
  StoreExecutor executor_;  // after the factory: destroyed first, its tasks drained
  std::unique_ptr<AckRecorder> acks_;
};

TEST_F(KnownAckTest, AcksOfDeliveriesJustPutOnFeedsAreDecidedWithoutARead) {
  auto deliveries = SubmitExample("-1");
  const std::string police = deliveries.at("hartford-pd");
  const std::string csao = deliveries.at("csao");
  ASSERT_EQ(StateOf(police), v1::IN_FLIGHT);
  auto outcomes = Batch({Request("hartford-pd", police, v1::Acknowledgement::RECEIVED),
                         Request("csao", csao, v1::Acknowledgement::RECEIVED),
                         Request("hartford-pd", police, v1::Acknowledgement::ACCEPTED)});
  ASSERT_EQ(outcomes.size(), 3u);
  for (const auto& outcome : outcomes) {
    ASSERT_TRUE(outcome.ok()) << outcome.status();
    EXPECT_TRUE(outcome->audit_index.has_value());
  }
  EXPECT_EQ(outcomes[0]->state, v1::DELIVERED);
  EXPECT_EQ(outcomes[2]->state, v1::ACKNOWLEDGED);
  EXPECT_EQ(StateOf(police), v1::ACKNOWLEDGED);
  EXPECT_EQ(StateOf(csao), v1::DELIVERED);
  EXPECT_EQ(LastAuditDetail(csao), "from=IN_FLIGHT to=DELIVERED");
  // The single-ack path too.
  auto single = acks_->Acknowledge("csao", csao, v1::Acknowledgement::ACCEPTED, "", "agency/csao");
  ASSERT_TRUE(single.ok()) << single.status();
  EXPECT_EQ(single->state, v1::ACKNOWLEDGED);
  EXPECT_EQ(counting_->batch_reads, 0);
  EXPECT_EQ(counting_->reads, 0);
  EXPECT_FALSE(known_.Find(police).has_value()) << "accepted: forgotten";
}

TEST_F(KnownAckTest, AStaleGuessLosesTheCompareAndSetAndIsDecidedFromTheStore) {
  const std::string police = SubmitExample("-1").at("hartford-pd");
  following_ = false;  // what another replica's write would be: unseen here
  ASSERT_TRUE(Batch({Request("hartford-pd", police, v1::Acknowledgement::RECEIVED)})[0].ok());
  following_ = true;
  ASSERT_EQ(StateOf(police), v1::DELIVERED);
  ASSERT_EQ(known_.Find(police)->state, v1::IN_FLIGHT);
  counting_->reads = 0;
  auto outcome = Batch({Request("hartford-pd", police, v1::Acknowledgement::ACCEPTED)})[0];
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->state, v1::ACKNOWLEDGED);
  EXPECT_TRUE(outcome->audit_index.has_value());
  EXPECT_EQ(counting_->reads, 1) << "read again after the compare-and-set was lost";
  EXPECT_EQ(StateOf(police), v1::ACKNOWLEDGED);
  EXPECT_EQ(LastAuditDetail(police), "from=DELIVERED to=ACKNOWLEDGED")
      << "audited from the store's state, not the guess";
}

TEST_F(KnownAckTest, AGuessThatWouldWriteNothingIsCheckedAgainstTheStore) {
  const std::string police = SubmitExample("-1").at("hartford-pd");
  // The guess runs ahead of the store: it says RECEIVED was recorded.
  Commit(known_, {Ack(police, v1::DELIVERED)});
  ASSERT_EQ(StateOf(police), v1::IN_FLIGHT);
  auto outcome = Batch({Request("hartford-pd", police, v1::Acknowledgement::RECEIVED)})[0];
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->state, v1::DELIVERED);
  EXPECT_TRUE(outcome->audit_index.has_value()) << "recorded, not answered as a repeat";
  EXPECT_EQ(counting_->reads, 1);
  EXPECT_EQ(StateOf(police), v1::DELIVERED);
}

TEST_F(KnownAckTest, AnAckOfAnotherAgencysKnownDeliveryIsRefusedFromTheStore) {
  const std::string police = SubmitExample("-1").at("hartford-pd");
  auto outcome = Batch({Request("csao", police, v1::Acknowledgement::RECEIVED)})[0];
  EXPECT_EQ(outcome.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(counting_->reads, 1) << "a refusal is never given from a guess";
  EXPECT_EQ(StateOf(police), v1::IN_FLIGHT);
}

}  // namespace
}  // namespace hart
