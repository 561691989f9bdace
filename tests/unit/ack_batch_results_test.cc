// What AcknowledgeBatch and AcknowledgeStream answer per acknowledgement,
// and what becomes of refusals the broker could not audit.
#include "broker/feed/ack_batch_results.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "grpcpp/support/status.h"

namespace hart::feed {
namespace {

using ::testing::ElementsAre;
namespace v1 = ::hart::referral::v1;

AckRequests Acks(const std::vector<std::string>& delivery_ids) {
  AckRequests acks;
  for (const auto& id : delivery_ids) {
    v1::AcknowledgeRequest* ack = acks.Add();
    ack->set_delivery_id(id);
    ack->set_kind(v1::Acknowledgement::ACCEPTED);
  }
  return acks;
}

TEST(AckBatchResultsTest, OneResultPerAckAndTheRefusalsAsAnotherAgencysToAudit) {
  const AckRequests acks = Acks({"dlv_a", "dlv_b", "dlv_c"});
  std::vector<absl::StatusOr<AckOutcome>> outcomes;
  outcomes.push_back(AckOutcome{v1::ACKNOWLEDGED, 41});
  outcomes.push_back(absl::PermissionDeniedError("delivery dlv_b is not addressed to agency x"));
  outcomes.push_back(absl::NotFoundError("no delivery dlv_c"));
  AckResults results;
  EXPECT_THAT(AddAckResults(acks, outcomes, &results), ElementsAre("dlv_b"));
  ASSERT_EQ(results.size(), 3);
  EXPECT_EQ(results[0].delivery_id(), "dlv_a");
  EXPECT_EQ(results[0].status().code(), grpc::StatusCode::OK);
  EXPECT_EQ(results[0].state(), v1::ACKNOWLEDGED);
  EXPECT_EQ(results[0].audit_index(), 41u);
  EXPECT_EQ(results[1].status().code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(results[2].status().code(), grpc::StatusCode::NOT_FOUND);
}

// A denial the broker could not record is not answered as one: the partner
// is told to retry it and every missing delivery alike, and the rest stand.
TEST(AckBatchResultsTest, ARefusalThatCouldNotBeAuditedIsAnsweredUnavailable) {
  const AckRequests acks = Acks({"dlv_a", "dlv_b", "dlv_c"});
  std::vector<absl::StatusOr<AckOutcome>> outcomes;
  outcomes.push_back(absl::PermissionDeniedError("delivery dlv_a is not addressed to agency x"));
  outcomes.push_back(AckOutcome{v1::ACKNOWLEDGED, 7});
  outcomes.push_back(absl::NotFoundError("no delivery dlv_c"));
  AckResults results;
  AddAckResults(acks, outcomes, &results);
  MarkDenialsUnrecorded(&results);
  ASSERT_EQ(results.size(), 3);
  EXPECT_EQ(results[0].status().code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(results[0].status().message(), ::testing::HasSubstr("retry"));
  EXPECT_EQ(results[1].status().code(), grpc::StatusCode::OK);
  EXPECT_EQ(results[1].audit_index(), 7u);
  // Another agency's delivery and none at all answer alike.
  EXPECT_EQ(results[2].status().code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(results[2].status().message(), results[0].status().message());
}

TEST(AckBatchResultsTest, ABatchHoldsOneToAThousandAcks) {
  EXPECT_TRUE(CheckBatchSize(1).ok());
  EXPECT_TRUE(CheckBatchSize(kMaxAcksPerBatch).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(CheckBatchSize(0)));
  EXPECT_TRUE(absl::IsInvalidArgument(CheckBatchSize(kMaxAcksPerBatch + 1)));
}

}  // namespace
}  // namespace hart::feed
