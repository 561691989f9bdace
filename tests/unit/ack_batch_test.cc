// AckRecorder::AcknowledgeBatchAsync over a real SQLite store and the
// broker's writer queue: one outcome per request, in order; requests for one
// delivery applied in the order given; a failing request changes nothing
// and does not stop the rest.
#include <gtest/gtest.h>

#include <future>
#include <optional>
#include <span>

#include "broker/acks/ack_recorder.h"
#include "tests/support/ack_test_support.h"

namespace hart {
namespace {

using hart::testing::ReadCountingStore;
using hart::testing::ReferralFactory;
using hart::testing::TempDir;
using hart::testing::TestNow;

class AckBatchTest : public ::testing::Test {
 protected:
  AckBatchTest() : clock_(TestNow()) {
    store_ = std::move(OpenSqliteStore(dir_.path()).value());
    counting_ = std::make_unique<ReadCountingStore>(*store_);
    factory_ = std::make_unique<ReferralFactory>(*store_, clock_);
    acks_ = std::make_unique<AckRecorder>(*counting_, factory_->writes(), executor_, clock_);
  }

  // The example's deliveries by agency id.
  std::map<std::string, std::string> SubmitExample(const std::string& suffix) {
    return hart::testing::SubmitExampleDeliveries(*factory_, suffix);
  }

  static AckRequest Ack(const std::string& agency, const std::string& delivery_id,
                        v1::Acknowledgement::Kind kind, const std::string& note = "") {
    return hart::testing::AgencyAck(agency, delivery_id, kind, note);
  }

  std::vector<absl::StatusOr<AckOutcome>> Batch(std::vector<AckRequest> requests) {
    return hart::testing::RunAckBatch(*acks_, std::move(requests));
  }

  v1::DeliveryState StateOf(const std::string& delivery_id) {
    return store_->GetDelivery(delivery_id).value().state;
  }

  TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ReadCountingStore> counting_;
  std::unique_ptr<ReferralFactory> factory_;
  StoreExecutor executor_;  // after the factory: destroyed first, its tasks drained
  std::unique_ptr<AckRecorder> acks_;
};

TEST_F(AckBatchTest, AcksOfOneDeliveryApplyInTheOrderGivenAndOthersAlongside) {
  auto first = SubmitExample("-1");
  auto second = SubmitExample("-2");
  const std::string police = first.at("hartford-pd");
  const std::string csao = first.at("csao");
  const std::string police_2 = second.at("hartford-pd");

  auto outcomes = Batch({Ack("hartford-pd", police, v1::Acknowledgement::RECEIVED),
                         Ack("csao", csao, v1::Acknowledgement::RECEIVED),
                         Ack("hartford-pd", police_2, v1::Acknowledgement::ACCEPTED),
                         Ack("hartford-pd", police, v1::Acknowledgement::ACCEPTED)});
  ASSERT_EQ(outcomes.size(), 4u);
  for (const auto& outcome : outcomes) ASSERT_TRUE(outcome.ok()) << outcome.status();
  // RECEIVED was applied before ACCEPTED: both changed the state, each audited.
  EXPECT_EQ(outcomes[0]->state, v1::DELIVERED);
  EXPECT_EQ(outcomes[3]->state, v1::ACKNOWLEDGED);
  ASSERT_TRUE(outcomes[0]->audit_index && outcomes[3]->audit_index);
  EXPECT_LT(*outcomes[0]->audit_index, *outcomes[3]->audit_index);
  EXPECT_EQ(outcomes[1]->state, v1::DELIVERED);
  EXPECT_EQ(outcomes[2]->state, v1::ACKNOWLEDGED);
  std::set<uint64_t> indexes;
  for (const auto& outcome : outcomes) indexes.insert(outcome->audit_index.value_or(0));
  EXPECT_EQ(indexes.size(), 4u) << "every ack has an audit event of its own";
  EXPECT_EQ(StateOf(police), v1::ACKNOWLEDGED);
  EXPECT_EQ(StateOf(csao), v1::DELIVERED);
  EXPECT_EQ(StateOf(police_2), v1::ACKNOWLEDGED);
  // The three deliveries were read together; the ACCEPTED after the
  // RECEIVED was decided from the state the RECEIVED left, without a read,
  // and no ack lost a compare-and-set and had to be decided again.
  EXPECT_EQ(counting_->batch_reads, 1);
  EXPECT_EQ(counting_->batch_ids, 3);
  EXPECT_EQ(counting_->reads, 0);
}

TEST_F(AckBatchTest, AnAckDecidedOnAStaleReadIsReadAndDecidedAgain) {
  const std::string police = SubmitExample("-1").at("hartford-pd");
  ASSERT_TRUE(Batch({Ack("hartford-pd", police, v1::Acknowledgement::RECEIVED)})[0].ok());
  ASSERT_EQ(StateOf(police), v1::DELIVERED);
  const int audited = static_cast<int>(store_->AuditHead().value().size);
  // The batch read says PENDING: the RECEIVED is decided as a change, loses
  // the compare-and-set to the DELIVERED in the store, is read again and is
  // then a repeat that records nothing. The ACCEPTED after it is decided from
  // that outcome.
  counting_->stale_state = v1::PENDING;
  counting_->reads = 0;
  auto outcomes = Batch({Ack("hartford-pd", police, v1::Acknowledgement::RECEIVED),
                         Ack("hartford-pd", police, v1::Acknowledgement::ACCEPTED)});
  ASSERT_EQ(outcomes.size(), 2u);
  ASSERT_TRUE(outcomes[0].ok()) << outcomes[0].status();
  ASSERT_TRUE(outcomes[1].ok()) << outcomes[1].status();
  EXPECT_EQ(outcomes[0]->state, v1::DELIVERED);
  EXPECT_FALSE(outcomes[0]->audit_index.has_value()) << "the repeat records nothing";
  EXPECT_EQ(outcomes[1]->state, v1::ACKNOWLEDGED);
  ASSERT_TRUE(outcomes[1]->audit_index.has_value());
  EXPECT_EQ(counting_->reads, 1) << "only the ack that lost the compare-and-set was read again";
  EXPECT_EQ(StateOf(police), v1::ACKNOWLEDGED);
  EXPECT_EQ(store_->AuditHead().value().size, static_cast<uint64_t>(audited) + 1)
      << "one audit event: the ACCEPTED";
}

TEST_F(AckBatchTest, ARepeatInTheSameBatchChangesNothingMore) {
  const std::string police = SubmitExample("-1").at("hartford-pd");
  auto outcomes = Batch({Ack("hartford-pd", police, v1::Acknowledgement::ACCEPTED),
                         Ack("hartford-pd", police, v1::Acknowledgement::RECEIVED)});
  ASSERT_EQ(outcomes.size(), 2u);
  ASSERT_TRUE(outcomes[0].ok() && outcomes[1].ok());
  EXPECT_EQ(outcomes[0]->state, v1::ACKNOWLEDGED);
  EXPECT_TRUE(outcomes[0]->audit_index.has_value());
  EXPECT_EQ(outcomes[1]->state, v1::ACKNOWLEDGED);
  EXPECT_FALSE(outcomes[1]->audit_index.has_value()) << "a repeat records nothing";
}

TEST_F(AckBatchTest, EachFailingAckGetsItsOwnErrorAndTheRestAreRecorded) {
  auto deliveries = SubmitExample("-1");
  const std::string police = deliveries.at("hartford-pd");
  const std::string csao = deliveries.at("csao");
  auto outcomes = Batch({Ack("hartford-pd", "dlv_UNKNOWN", v1::Acknowledgement::RECEIVED),
                         Ack("hartford-pd", csao, v1::Acknowledgement::ACCEPTED),
                         Ack("hartford-pd", police, v1::Acknowledgement::DECLINED),
                         Ack("hartford-pd", police, v1::Acknowledgement::RECEIVED)});
  ASSERT_EQ(outcomes.size(), 4u);
  EXPECT_EQ(outcomes[0].status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(outcomes[1].status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(outcomes[2].status().code(), absl::StatusCode::kInvalidArgument)
      << "DECLINED needs a note";
  ASSERT_TRUE(outcomes[3].ok()) << outcomes[3].status();
  EXPECT_EQ(outcomes[3]->state, v1::DELIVERED);
  EXPECT_EQ(StateOf(csao), v1::PENDING) << "another agency's ack changed nothing";
  EXPECT_EQ(StateOf(police), v1::DELIVERED);
}

TEST_F(AckBatchTest, ARefusingExecutorAnswersEveryAckUnavailable) {
  const std::string police = SubmitExample("-1").at("hartford-pd");
  executor_.Shutdown();
  auto outcomes = Batch({Ack("hartford-pd", police, v1::Acknowledgement::RECEIVED),
                         Ack("hartford-pd", police, v1::Acknowledgement::ACCEPTED)});
  ASSERT_EQ(outcomes.size(), 2u);
  for (const auto& outcome : outcomes) {
    EXPECT_EQ(outcome.status().code(), absl::StatusCode::kUnavailable);
  }
  EXPECT_EQ(StateOf(police), v1::PENDING);
}

TEST_F(AckBatchTest, AnEmptyBatchIsAnsweredAtOnce) {
  EXPECT_TRUE(Batch({}).empty());
}

}  // namespace
}  // namespace hart
