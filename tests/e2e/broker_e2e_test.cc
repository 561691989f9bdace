// End to end over the real hart-broker binary, real gRPC, real mTLS.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "broker/common/time_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/e2e/broker_process.h"

namespace hart::testing {
namespace {

using ::testing::HasSubstr;

const char* const kValidExamples[] = {
    "school-sex-trafficking-hartford", "missing-from-foster-care-new-haven",
    "labor-trafficking-waterbury", "urgent-hotel-bridgeport"};

class BrokerE2ETest : public ::testing::Test {
 protected:
  BrokerE2ETest() : broker_(dir_.path() + "/data") {}

  grpc::Status Submit(const v1::Intake& intake, v1::Receipt* receipt,
                      const std::string& cert = "careline") {
    v1::SubmitIntakeRequest request;
    *request.mutable_intake() = intake;
    v1::SubmitIntakeResponse response;
    auto context = CallContext();
    const grpc::Status status = broker_.Intake(cert)->SubmitIntake(context.get(), request, &response);
    if (receipt != nullptr) *receipt = response.receipt();
    return status;
  }
  grpc::Status GetReferral(const std::string& id, v1::ReferralStatus* out,
                           const std::string& cert = "supervisor") {
    v1::GetReferralRequest request;
    request.set_referral_id(id);
    auto context = CallContext();
    return broker_.Supervisor(cert)->GetReferral(context.get(), request, out);
  }

  TempDir dir_;
  BrokerProcess broker_;
};

// Verifies the whole spine: every valid example is routed, appears on every
// destination agency's feed, is acknowledged there, and GetReferral shows
// every delivery ACKNOWLEDGED.
TEST_F(BrokerE2ETest, EveryExampleReachesEveryDestinationAndIsAcknowledged) {
  ASSERT_TRUE(broker_.running());
  std::map<std::string, std::set<std::string>> expected_by_agency;
  std::vector<v1::Receipt> receipts;
  for (const char* name : kValidExamples) {
    v1::Receipt receipt;
    const grpc::Status status = Submit(LoadIntake(name), &receipt);
    ASSERT_TRUE(status.ok()) << name << ": " << status.error_message();
    EXPECT_FALSE(receipt.referral_id().empty());
    EXPECT_GT(receipt.destinations_size(), 0);
    for (const auto& d : receipt.destinations()) {
      EXPECT_FALSE(d.rule_ids().empty());
      expected_by_agency[d.agency_id()].insert(d.delivery_id());
    }
    receipts.push_back(receipt);
  }
  for (const auto& [agency, expected] : expected_by_agency) {
    if (!IsFeedAgency(agency)) continue;  // push partners: push_adapters_e2e_test
    const auto received = DrainFeed(broker_, agency, expected);
    EXPECT_EQ(std::set<std::string>(received.begin(), received.end()), expected) << agency;
  }
  for (const auto& receipt : receipts) {
    v1::ReferralStatus status;
    ASSERT_TRUE(GetReferral(receipt.referral_id(), &status).ok());
    // Escalation notices may come on top (an example's 24-hour delivery
    // deadline counts from its received_at, which may be long past); the
    // referral's own deliveries are the receipt's.
    int referrals = 0;
    for (const auto& d : status.deliveries()) referrals += d.kind() == v1::REFERRAL;
    ASSERT_EQ(referrals, receipt.destinations_size());
    for (const auto& d : status.deliveries()) {
      if (d.kind() != v1::REFERRAL) continue;
      if (!IsFeedAgency(d.agency_id())) {
        // Its placeholder partner is not running here: it is retried.
        EXPECT_NE(d.adapter(), "grpc_feed");
        EXPECT_NE(d.state(), v1::DEAD) << d.agency_id();
        continue;
      }
      EXPECT_EQ(d.state(), v1::ACKNOWLEDGED) << d.agency_id();
      EXPECT_EQ(d.attempts(), 1u);
      ASSERT_EQ(d.acks_size(), 2);
      EXPECT_EQ(d.acks(0).kind(), v1::Acknowledgement::RECEIVED);
      EXPECT_EQ(d.acks(1).kind(), v1::Acknowledgement::ACCEPTED);
      EXPECT_EQ(d.acks(1).actor(), "agency/" + d.agency_id());
      EXPECT_TRUE(d.has_delivered_at());
      EXPECT_TRUE(d.has_acknowledged_at());
    }
  }
}

// A partner with a queue of its own acknowledges many deliveries in one
// AcknowledgeBatch call: each ack is recorded and audited as Acknowledge
// would, a delivery's RECEIVED before its ACCEPTED, and a failing ack (an
// unknown id, another agency's delivery) gets its own error and changes
// nothing while the rest are recorded.
TEST_F(BrokerE2ETest, AcknowledgeBatchRecordsEachAckWithItsOwnResult) {
  ASSERT_TRUE(broker_.running());
  std::set<std::string> police_deliveries;
  std::string csao_delivery;
  std::vector<std::string> referral_ids;
  for (const char* suffix : {"-b1", "-b2"}) {
    v1::Intake intake = LoadIntake("urgent-hotel-bridgeport");
    intake.set_careline_report_id(intake.careline_report_id() + suffix);
    v1::Receipt receipt;
    ASSERT_TRUE(Submit(intake, &receipt).ok());
    referral_ids.push_back(receipt.referral_id());
    for (const auto& d : receipt.destinations()) {
      if (d.agency_id() == "bridgeport-pd") police_deliveries.insert(d.delivery_id());
      if (d.agency_id() == "csao") csao_delivery = d.delivery_id();
    }
  }
  ASSERT_EQ(police_deliveries.size(), 2u);
  ASSERT_FALSE(csao_delivery.empty());
  // The deliveries are handed to the feed before they can be acknowledged.
  DrainFeed(broker_, "bridgeport-pd", police_deliveries, 0, /*ack=*/false);

  v1::AcknowledgeBatchRequest request;
  for (const std::string& id : police_deliveries) {
    auto* ack = request.add_acks();
    ack->set_delivery_id(id);
    ack->set_kind(v1::Acknowledgement::RECEIVED);
  }
  for (const std::string& id : police_deliveries) {
    auto* ack = request.add_acks();
    ack->set_delivery_id(id);
    ack->set_kind(v1::Acknowledgement::ACCEPTED);
  }
  request.add_acks()->set_delivery_id("dlv_NONE");
  request.mutable_acks(4)->set_kind(v1::Acknowledgement::RECEIVED);
  request.add_acks()->set_delivery_id(csao_delivery);
  request.mutable_acks(5)->set_kind(v1::Acknowledgement::ACCEPTED);
  v1::AcknowledgeBatchResponse response;
  auto context = CallContext();
  const grpc::Status status =
      broker_.Feed("bridgeport-pd")->AcknowledgeBatch(context.get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.results_size(), 6);
  std::set<uint64_t> audit_indexes;
  for (int i = 0; i < 4; ++i) {
    const auto& result = response.results(i);
    EXPECT_EQ(result.delivery_id(), request.acks(i).delivery_id());
    EXPECT_EQ(result.status().code(), 0) << result.status().message();
    EXPECT_EQ(result.state(), i < 2 ? v1::DELIVERED : v1::ACKNOWLEDGED);
    ASSERT_TRUE(result.has_audit_index());
    audit_indexes.insert(result.audit_index());
  }
  EXPECT_EQ(audit_indexes.size(), 4u);
  EXPECT_EQ(response.results(4).status().code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(response.results(5).status().code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(response.results(5).status().message(), HasSubstr("not addressed to"));

  for (const std::string& referral_id : referral_ids) {
    v1::ReferralStatus referral;
    ASSERT_TRUE(GetReferral(referral_id, &referral).ok());
    for (const auto& d : referral.deliveries()) {
      if (d.agency_id() == "csao") {
        EXPECT_EQ(d.acks_size(), 0);
      }
      if (d.agency_id() != "bridgeport-pd" || d.kind() != v1::REFERRAL) continue;
      EXPECT_EQ(d.state(), v1::ACKNOWLEDGED);
      ASSERT_EQ(d.acks_size(), 2);
      EXPECT_EQ(d.acks(0).kind(), v1::Acknowledgement::RECEIVED);
      EXPECT_EQ(d.acks(1).kind(), v1::Acknowledgement::ACCEPTED);
      EXPECT_EQ(d.acks(1).actor(), "agency/bridgeport-pd");
    }
  }

  // An empty batch, and one over the limit, record nothing.
  for (int count : {0, 1001}) {
    v1::AcknowledgeBatchRequest bad;
    for (int i = 0; i < count; ++i) {
      bad.add_acks()->set_delivery_id(*police_deliveries.begin());
      bad.mutable_acks(i)->set_kind(v1::Acknowledgement::DECLINED);
      bad.mutable_acks(i)->set_note("not ours");
    }
    v1::AcknowledgeBatchResponse unused;
    auto bad_context = CallContext();
    const grpc::Status refused =
        broker_.Feed("bridgeport-pd")->AcknowledgeBatch(bad_context.get(), bad, &unused);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << count;
    EXPECT_THAT(refused.error_message(), HasSubstr("1 to 1000 per call or batch"));
  }
}

// A reporter who asked for confidentiality is named to police but withheld
// from the MDT, through the same referral's two feeds. (NCMEC's narrower
// view is checked in its report: push_adapters_e2e_test.)
TEST_F(BrokerE2ETest, FeedViewsFollowTheAgencyKind) {
  v1::Intake submitted = LoadIntake("missing-from-foster-care-new-haven");
  submitted.mutable_reporter()->set_confidential(true);
  v1::Receipt receipt;
  ASSERT_TRUE(Submit(submitted, &receipt).ok());
  auto first_event = [&](const std::string& agency) {
    auto stub = broker_.Feed(agency);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    auto reader = stub->Subscribe(&context, v1::SubscribeRequest());
    v1::FeedEvent event;
    while (reader->Read(&event) && !event.has_delivery()) {
    }
    context.TryCancel();
    reader->Finish();
    return event;
  };
  const v1::FeedEvent police = first_event("new-haven-pd");
  ASSERT_TRUE(police.has_delivery());
  EXPECT_EQ(police.sequence(), 1u);
  EXPECT_EQ(police.delivery().referral().intake().child().given_name(), "Alex");
  EXPECT_EQ(police.delivery().referral().intake().reporter().name(), "Sam Rivera");
  EXPECT_FALSE(police.delivery().referral().intake().concern().narrative().empty());
  const v1::FeedEvent mdt = first_event("mdt-new-haven");
  ASSERT_TRUE(mdt.has_delivery());
  EXPECT_EQ(mdt.delivery().referral().intake().child().given_name(), "Alex");
  EXPECT_TRUE(mdt.delivery().referral().intake().reporter().name().empty());
  EXPECT_TRUE(mdt.delivery().referral().intake().reporter().phone().empty());
}

// Subscribes with `channel`'s certificate from `resume_after` and expects
// the stream to end before any event: how it ended.
grpc::Status SubscriptionEnd(std::shared_ptr<grpc::Channel> channel, uint64_t resume_after) {
  auto stub = v1::FeedService::NewStub(std::move(channel));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::SubscribeRequest request;
  request.set_resume_after(resume_after);
  auto reader = stub->Subscribe(&context, request);
  v1::FeedEvent event;
  EXPECT_FALSE(reader->Read(&event));
  return reader->Finish();
}

// A partner learns that it is subscribed, and from where, as soon as the
// broker holds its stream, with nothing on its feed: not with the first
// event or heartbeat (15 s later, past this call's deadline).
TEST_F(BrokerE2ETest, ASubscriberIsToldAtOnceThatTheBrokerHoldsItsStream) {
  auto stub = broker_.Feed("hartford-pd");
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::SubscribeRequest request;
  request.set_resume_after(0);
  auto reader = stub->Subscribe(&context, request);
  reader->WaitForInitialMetadata();
  const auto& headers = context.GetServerInitialMetadata();
  const auto resume = headers.find("hart-resume-after");
  ASSERT_NE(resume, headers.end()) << "no response headers before the deadline";
  EXPECT_EQ(std::string(resume->second.data(), resume->second.size()), "0");
  context.TryCancel();
  reader->Finish();
}

// A resume point past the feed's head (a store restored from an older
// backup) would have the partner skip the events appended next under
// sequences it already processed: the stream ends OUT_OF_RANGE, naming
// the head to resume from.
TEST_F(BrokerE2ETest, AResumePointPastTheFeedsHeadEndsTheStreamOutOfRange) {
  const grpc::Status status = SubscriptionEnd(broker_.Channel("agency-hartford-pd"), 7);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::OUT_OF_RANGE) << status.error_message();
  EXPECT_THAT(status.error_message(),
              ::testing::HasSubstr("resume_after 7 is past the last event on this feed (0)"));
}

TEST_F(BrokerE2ETest, InvalidIntakeGetsEveryFieldViolationAsBadRequest) {
  auto intake = LoadIntake("invalid-adult-not-dcf");
  intake.mutable_child()->set_town("Atlantis");
  const grpc::Status status = Submit(intake, nullptr);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(status.error_details()));
  google::rpc::BadRequest bad_request;
  ASSERT_EQ(details.details_size(), 1);
  ASSERT_TRUE(details.details(0).UnpackTo(&bad_request));
  std::set<std::string> fields;
  for (const auto& v : bad_request.field_violations()) fields.insert(v.field());
  EXPECT_EQ(fields, (std::set<std::string>{"child.town", "child.dcfInvolved"}));
}

TEST_F(BrokerE2ETest, ResubmissionIsIdempotentAndConflictsAreRefused) {
  auto intake = LoadIntake("labor-trafficking-waterbury");
  v1::Receipt first, second;
  ASSERT_TRUE(Submit(intake, &first).ok());
  ASSERT_TRUE(Submit(intake, &second).ok());
  EXPECT_EQ(first.SerializeAsString(), second.SerializeAsString());
  intake.mutable_concern()->set_narrative("different facts");
  const grpc::Status conflict = Submit(intake, nullptr);
  EXPECT_EQ(conflict.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(conflict.error_message(), HasSubstr("supplement"));
}

TEST_F(BrokerE2ETest, RolesAreEnforcedPerRpc) {
  // Only careline identities submit.
  EXPECT_EQ(Submit(LoadIntake("urgent-hotel-bridgeport"), nullptr, "agency-bridgeport-pd").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Submit(LoadIntake("urgent-hotel-bridgeport"), nullptr, "supervisor").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::Receipt receipt;
  ASSERT_TRUE(Submit(LoadIntake("urgent-hotel-bridgeport"), &receipt).ok());
  // Only supervisors read referral status.
  v1::ReferralStatus status;
  EXPECT_EQ(GetReferral(receipt.referral_id(), &status, "agency-bridgeport-pd").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(GetReferral(receipt.referral_id(), &status, "careline").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Only agencies subscribe; a careline certificate is refused, and so is
  // the certificate of an agency the config does not list.
  EXPECT_EQ(SubscriptionEnd(broker_.Channel("careline"), 0).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  const grpc::Status unlisted =
      SubscriptionEnd(broker_.Channel(absl::StrCat("agency-", kUnlistedAgencyId)), 0);
  EXPECT_EQ(unlisted.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(unlisted.error_message(), HasSubstr("the broker's config does not list"));
  // An agency cannot acknowledge another agency's delivery; nothing changes.
  std::string police_delivery, csao_delivery;
  for (const auto& d : receipt.destinations()) {
    if (d.agency_id() == "bridgeport-pd") police_delivery = d.delivery_id();
    if (d.agency_id() == "csao") csao_delivery = d.delivery_id();
  }
  ASSERT_FALSE(police_delivery.empty());
  ASSERT_FALSE(csao_delivery.empty());
  v1::AcknowledgeRequest ack;
  ack.set_delivery_id(police_delivery);
  ack.set_kind(v1::Acknowledgement::ACCEPTED);
  v1::AcknowledgeResponse ack_response;
  auto context = CallContext();
  EXPECT_EQ(broker_.Feed("csao")->Acknowledge(context.get(), ack, &ack_response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(GetReferral(receipt.referral_id(), &status).ok());
  for (const auto& d : status.deliveries()) EXPECT_EQ(d.acks_size(), 0);
  // Another agency's feed never shows this agency's deliveries.
  const auto csao_events = DrainFeed(broker_, "csao", {csao_delivery}, 0, false);
  EXPECT_EQ(csao_events, std::vector<std::string>{csao_delivery});
}

TEST_F(BrokerE2ETest, PeersWithoutAClientCertificateAreRefused) {
  auto stub = v1::IntakeService::NewStub(broker_.Channel(""));
  v1::SubmitIntakeRequest request;
  v1::SubmitIntakeResponse response;
  auto context = CallContext();
  const grpc::Status status = stub->SubmitIntake(context.get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(BrokerE2ETest, ExplainRoutingSaysWhyAndStoresNothing) {
  v1::ExplainRoutingRequest request;
  *request.mutable_intake() = LoadIntake("labor-trafficking-waterbury");
  v1::ExplainRoutingResponse response;
  auto context = CallContext();
  ASSERT_TRUE(broker_.Supervisor()->ExplainRouting(context.get(), request, &response).ok());
  ASSERT_EQ(response.rules_size(), 5);
  EXPECT_TRUE(response.rules(0).fired());
  EXPECT_FALSE(response.rules(1).fired());
  EXPECT_THAT(response.rules(1).reasons(), ::testing::ElementsAre("child is not DCF-involved"));
  EXPECT_GT(response.destinations_size(), 0);
  // Nothing stored: the same intake submits as new, and the agency's feed
  // holds exactly the one delivery of that submission.
  v1::Receipt receipt;
  ASSERT_TRUE(Submit(request.intake(), &receipt).ok());
  const auto events = DrainFeed(broker_, "waterbury-pd", {receipt.destinations(0).delivery_id()});
  EXPECT_EQ(events.size(), 1u);
}

// Verifies supplements end to end: a missing-child intake with no
// trafficking indicator goes to NCMEC and police only; a supplement adding a
// trafficking type brings in the HT destinations, and police get an UPDATE.
TEST_F(BrokerE2ETest, SupplementAddingATraffickingTypeReachesTheHtDestinations) {
  v1::Intake intake = LoadIntake("missing-from-foster-care-new-haven");
  intake.mutable_concern()->clear_trafficking_type();
  intake.mutable_concern()->clear_red_flags();
  // Times relative to the broker's (real) clock: missing 10 h, so the
  // 72-hour rule is still pending whenever this test runs.
  *intake.mutable_received_at() = ToProtoTime(absl::Now() - absl::Hours(1));
  *intake.mutable_missing()->mutable_missing_since() = ToProtoTime(absl::Now() - absl::Hours(10));
  v1::Receipt receipt;
  ASSERT_TRUE(Submit(intake, &receipt).ok());
  std::set<std::string> first;
  for (const auto& d : receipt.destinations()) first.insert(d.agency_id());
  EXPECT_EQ(first, (std::set<std::string>{"new-haven-pd", "ncmec"}));

  v1::SupplementIntakeRequest request;
  request.set_careline_report_id(intake.careline_report_id());
  auto* supplement = request.mutable_supplement();
  supplement->set_supplement_id("S-1");
  *supplement->mutable_received_at() = intake.received_at();
  supplement->set_trafficking_type(v1::TraffickingType::SEX);
  v1::SupplementIntakeResponse response;
  auto context = CallContext();
  const grpc::Status status =
      broker_.Intake()->SupplementIntake(context.get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(response.changed_fields(), ::testing::ElementsAre("concern.trafficking_type"));
  std::map<std::string, std::string> by_agency;
  for (const auto& d : response.receipt().destinations()) by_agency[d.agency_id()] = d.delivery_id();
  for (const char* agency : {"ct-ht-task-force", "csao", "mdt-new-haven", "cac-south-central"}) {
    ASSERT_TRUE(by_agency.count(agency)) << agency;
    EXPECT_EQ(DrainFeed(broker_, agency, {by_agency[agency]}),
              std::vector<std::string>{by_agency[agency]});
  }
  // Police: the referral first, then the update naming what changed.
  auto stub = broker_.Feed("new-haven-pd");
  grpc::ClientContext feed_context;
  feed_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto reader = stub->Subscribe(&feed_context, v1::SubscribeRequest());
  std::vector<v1::ReferralDelivery> events;
  v1::FeedEvent event;
  while (events.size() < 2 && reader->Read(&event)) {
    if (event.has_delivery()) events.push_back(event.delivery());
  }
  feed_context.TryCancel();
  reader->Finish();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind(), v1::REFERRAL);
  EXPECT_EQ(events[1].kind(), v1::UPDATE);
  EXPECT_THAT(events[1].changes(), ::testing::ElementsAre("concern.trafficking_type",
                                                          "rule:ht-referral"));
  EXPECT_EQ(events[1].referral().intake().concern().trafficking_type(),
            v1::TraffickingType::SEX);
  // Supervisors see the supplement.
  v1::ReferralStatus referral_status;
  ASSERT_TRUE(GetReferral(receipt.referral_id(), &referral_status).ok());
  EXPECT_THAT(referral_status.supplement_ids(), ::testing::ElementsAre("S-1"));
  EXPECT_EQ(referral_status.pending_evaluations_size(), 1);  // the 72-hour consult
}

TEST_F(BrokerE2ETest, ServesTheStandardHealthService) {
  auto stub = grpc::health::v1::Health::NewStub(broker_.Channel("operator"));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  auto context = CallContext();
  ASSERT_TRUE(stub->Check(context.get(), request, &response).ok());
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

}  // namespace
}  // namespace hart::testing
