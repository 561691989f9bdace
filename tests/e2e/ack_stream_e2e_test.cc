// FeedService.AcknowledgeStream over the real hart-broker binary, real
// gRPC and mTLS: each batch recorded and answered as AcknowledgeBatch
// would, in order, however many the partner sends ahead; the role check; a
// drain ends the stream after answering what was read.
#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "hart/referral/v1/audit.grpc.pb.h"
#include "tests/e2e/broker_process.h"
#include "tests/support/test_support.h"

namespace hart::testing {
namespace {

using ::testing::HasSubstr;
using Request = v1::AcknowledgeStreamRequest;
using Response = v1::AcknowledgeStreamResponse;

class AckStreamE2ETest : public ::testing::Test {
 protected:
  AckStreamE2ETest() : broker_(dir_.path() + "/data") {}

  // Submits `name` with a distinct report id; its receipt.
  v1::Receipt Submit(const std::string& name, const std::string& suffix) {
    v1::SubmitIntakeRequest request;
    *request.mutable_intake() = LoadIntake(name);
    request.mutable_intake()->set_careline_report_id(
        request.intake().careline_report_id() + suffix);
    v1::SubmitIntakeResponse response;
    auto context = CallContext();
    const grpc::Status status = broker_.Intake()->SubmitIntake(context.get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.receipt();
  }
  static std::string DeliveryTo(const v1::Receipt& receipt, const std::string& agency) {
    for (const auto& d : receipt.destinations()) {
      if (d.agency_id() == agency) return d.delivery_id();
    }
    return "";
  }
  static Request Batch(uint64_t batch_id, const std::vector<std::string>& ids,
                       v1::Acknowledgement::Kind kind) {
    Request request;
    request.set_batch_id(batch_id);
    for (const std::string& id : ids) {
      auto* ack = request.add_acks();
      ack->set_delivery_id(id);
      ack->set_kind(kind);
    }
    return request;
  }
  // A Bridgeport police delivery of a new intake, handed to its feed (read
  // there, not acknowledged); empty on failure.
  std::string PoliceDeliveryOnTheFeed(const std::string& suffix) {
    const std::string delivery =
        DeliveryTo(Submit("urgent-hotel-bridgeport", suffix), "bridgeport-pd");
    if (!delivery.empty()) DrainFeed(broker_, "bridgeport-pd", {delivery}, 0, /*ack=*/false);
    return delivery;
  }
  static std::unique_ptr<grpc::ClientContext> StreamContext() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return context;
  }

  TempDir dir_;
  BrokerProcess broker_;
};

TEST_F(AckStreamE2ETest, EachBatchIsAnsweredInOrderAsAcknowledgeBatchWouldAnswerIt) {
  ASSERT_TRUE(broker_.running());
  const v1::Receipt first = Submit("urgent-hotel-bridgeport", "-s1");
  const v1::Receipt second = Submit("urgent-hotel-bridgeport", "-s2");
  const std::vector<std::string> police = {DeliveryTo(first, "bridgeport-pd"),
                                           DeliveryTo(second, "bridgeport-pd")};
  const std::string csao = DeliveryTo(first, "csao");
  ASSERT_FALSE(police[0].empty());
  ASSERT_FALSE(police[1].empty());
  ASSERT_FALSE(csao.empty());
  DrainFeed(broker_, "bridgeport-pd", {police[0], police[1]}, 0, /*ack=*/false);

  auto stub = broker_.Feed("bridgeport-pd");
  auto context = StreamContext();
  auto stream = stub->AcknowledgeStream(context.get());
  ASSERT_TRUE(stream->Write(Batch(11, police, v1::Acknowledgement::RECEIVED)));
  Request mixed = Batch(12, police, v1::Acknowledgement::ACCEPTED);
  mixed.add_acks()->set_delivery_id("dlv_NONE");
  mixed.mutable_acks(2)->set_kind(v1::Acknowledgement::RECEIVED);
  mixed.add_acks()->set_delivery_id(csao);
  mixed.mutable_acks(3)->set_kind(v1::Acknowledgement::ACCEPTED);
  ASSERT_TRUE(stream->Write(mixed));
  ASSERT_TRUE(stream->Write(Batch(13, {}, v1::Acknowledgement::RECEIVED)));
  ASSERT_TRUE(stream->Write(
      Batch(14, std::vector<std::string>(1001, police[0]), v1::Acknowledgement::RECEIVED)));
  ASSERT_TRUE(stream->WritesDone());

  std::vector<Response> responses(4);
  for (Response& response : responses) ASSERT_TRUE(stream->Read(&response));
  Response extra;
  EXPECT_FALSE(stream->Read(&extra));
  const grpc::Status ended = stream->Finish();
  EXPECT_TRUE(ended.ok()) << ended.error_message();

  EXPECT_EQ(responses[0].batch_id(), 11u);
  EXPECT_EQ(responses[0].status().code(), 0);
  ASSERT_EQ(responses[0].results_size(), 2);
  std::set<uint64_t> audit_indexes;
  for (int i = 0; i < 2; ++i) {
    const auto& received = responses[0].results(i);
    EXPECT_EQ(received.delivery_id(), police[i]);
    EXPECT_EQ(received.status().code(), 0) << received.status().message();
    EXPECT_EQ(received.state(), v1::DELIVERED);
    ASSERT_TRUE(received.has_audit_index());
    audit_indexes.insert(received.audit_index());
    const auto& accepted = responses[1].results(i);
    EXPECT_EQ(accepted.status().code(), 0) << accepted.status().message();
    EXPECT_EQ(accepted.state(), v1::ACKNOWLEDGED);
    ASSERT_TRUE(accepted.has_audit_index());
    audit_indexes.insert(accepted.audit_index());
  }
  EXPECT_EQ(audit_indexes.size(), 4u);
  EXPECT_EQ(responses[1].batch_id(), 12u);
  ASSERT_EQ(responses[1].results_size(), 4);
  EXPECT_EQ(responses[1].results(2).status().code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(responses[1].results(3).status().code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(responses[1].results(3).status().message(), HasSubstr("not addressed to"));
  for (int i : {2, 3}) {
    EXPECT_EQ(responses[i].batch_id(), 11u + static_cast<uint64_t>(i));
    EXPECT_EQ(responses[i].status().code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(responses[i].status().message(), HasSubstr("1 to 1000 per call or batch"));
    EXPECT_EQ(responses[i].results_size(), 0);
  }

  // Recorded as AcknowledgeBatch records them; another agency's delivery
  // untouched, and the attempt on it audited.
  v1::ReferralStatus referral;
  v1::GetReferralRequest get;
  get.set_referral_id(first.referral_id());
  auto get_context = CallContext();
  ASSERT_TRUE(broker_.Supervisor()->GetReferral(get_context.get(), get, &referral).ok());
  for (const auto& d : referral.deliveries()) {
    if (d.delivery_id() == csao) {
      EXPECT_EQ(d.acks_size(), 0);
    }
    if (d.delivery_id() != police[0]) continue;
    EXPECT_EQ(d.state(), v1::ACKNOWLEDGED);
    ASSERT_EQ(d.acks_size(), 2);
    EXPECT_EQ(d.acks(0).kind(), v1::Acknowledgement::RECEIVED);
    EXPECT_EQ(d.acks(1).kind(), v1::Acknowledgement::ACCEPTED);
    EXPECT_EQ(d.acks(1).actor(), "agency/bridgeport-pd");
  }
  auto audit = v1::AuditService::NewStub(broker_.Channel("supervisor"));
  v1::ListEventsRequest list;
  list.set_delivery_id(csao);
  list.set_actor("agency/bridgeport-pd");
  v1::ListEventsResponse events;
  auto list_context = CallContext();
  ASSERT_TRUE(audit->ListEvents(list_context.get(), list, &events).ok());
  ASSERT_EQ(events.events_size(), 1);
  EXPECT_EQ(events.events(0).entry().action(), "access.denied");
  EXPECT_EQ(events.events(0).entry().detail(), "rpc=FeedService.AcknowledgeStream");
}

// The broker reads at most eight batches ahead of its answers; a partner
// that sends many more before reading any still gets every answer, in
// order (repeats of an ack change nothing and carry no audit index).
TEST_F(AckStreamE2ETest, BatchesSentFarAheadOfTheAnswersAreAllAnsweredInOrder) {
  ASSERT_TRUE(broker_.running());
  const std::string delivery = PoliceDeliveryOnTheFeed("-ahead");
  ASSERT_FALSE(delivery.empty());

  auto stub = broker_.Feed("bridgeport-pd");
  auto context = StreamContext();
  auto stream = stub->AcknowledgeStream(context.get());
  constexpr uint64_t kBatches = 40;
  for (uint64_t id = 1; id <= kBatches; ++id) {
    ASSERT_TRUE(stream->Write(Batch(id, {delivery}, v1::Acknowledgement::RECEIVED))) << id;
  }
  ASSERT_TRUE(stream->WritesDone());
  int recorded = 0;
  for (uint64_t id = 1; id <= kBatches; ++id) {
    Response response;
    ASSERT_TRUE(stream->Read(&response)) << id;
    EXPECT_EQ(response.batch_id(), id);
    ASSERT_EQ(response.results_size(), 1);
    EXPECT_EQ(response.results(0).status().code(), 0) << response.results(0).status().message();
    EXPECT_EQ(response.results(0).state(), v1::DELIVERED);
    if (response.results(0).has_audit_index()) ++recorded;
  }
  EXPECT_EQ(recorded, 1);  // the first; the rest repeated it
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(AckStreamE2ETest, OnlyAgenciesMayOpenIt) {
  ASSERT_TRUE(broker_.running());
  for (const char* cert : {"supervisor", "careline"}) {
    auto stub = v1::FeedService::NewStub(broker_.Channel(cert));
    auto context = StreamContext();
    auto stream = stub->AcknowledgeStream(context.get());
    stream->Write(Batch(1, {"dlv_ANY"}, v1::Acknowledgement::RECEIVED));
    stream->WritesDone();
    Response unused;
    EXPECT_FALSE(stream->Read(&unused)) << cert;
    const grpc::Status refused = stream->Finish();
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED) << cert;
    EXPECT_THAT(refused.error_message(), HasSubstr("is for the agency role")) << cert;
  }
}

// SIGTERM: the stream ends with UNAVAILABLE once what it read is answered,
// and the broker exits cleanly with it open.
TEST_F(AckStreamE2ETest, ADrainingBrokerEndsTheStreamUnavailable) {
  ASSERT_TRUE(broker_.running());
  const std::string delivery = PoliceDeliveryOnTheFeed("-drain");
  ASSERT_FALSE(delivery.empty());

  auto stub = broker_.Feed("bridgeport-pd");
  auto context = StreamContext();
  auto stream = stub->AcknowledgeStream(context.get());
  ASSERT_TRUE(stream->Write(Batch(1, {delivery}, v1::Acknowledgement::RECEIVED)));
  Response response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.results(0).state(), v1::DELIVERED);

  ASSERT_EQ(kill(broker_.pid(), SIGTERM), 0);
  EXPECT_FALSE(stream->Read(&response));
  const grpc::Status ended = stream->Finish();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(ended.error_message(), HasSubstr("shutting down"));
  const std::optional<int> exit_status = broker_.WaitForExit(std::chrono::seconds(20));
  ASSERT_TRUE(exit_status.has_value());
  EXPECT_TRUE(WIFEXITED(*exit_status) && WEXITSTATUS(*exit_status) == 0);
}

}  // namespace
}  // namespace hart::testing
