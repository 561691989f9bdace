// Roles, limits and the absence of PII in logs, through the real binary.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include <sqlite3.h>

#include "broker/api/authorization_table.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/generic/generic_stub.h"
#include "tests/e2e/broker_process.h"

namespace hart::testing {
namespace {

using ::testing::HasSubstr;

const char* const kRoleCerts[] = {"careline", "agency-hartford-pd", "supervisor", "auditor",
                                  "operator"};

Role RoleOf(const std::string& cert) {
  if (cert == "careline") return Role::kCareline;
  if (cert.rfind("agency-", 0) == 0) return Role::kAgency;
  if (cert == "supervisor") return Role::kSupervisor;
  if (cert == "auditor") return Role::kAuditor;
  return Role::kOperator;
}

// Calls `rpc` ("Service.Method") with an empty request as `cert`; returns
// the status (streams: of the first read, within a second).
grpc::Status Call(const BrokerProcess& broker, const std::string& cert, const RpcPermission& rpc) {
  grpc::GenericStub stub(broker.Channel(cert));
  const std::string rpc_name = rpc.rpc;
  const std::string method =
      "/hart.referral.v1." + rpc_name.substr(0, rpc_name.find('.')) + "/" +
      rpc_name.substr(rpc_name.find('.') + 1);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(rpc.streaming ? 1 : 10));
  grpc::CompletionQueue cq;
  auto call = stub.PrepareCall(&context, method, &cq);
  void* tag = nullptr;
  bool ok = false;
  call->StartCall(reinterpret_cast<void*>(1));
  cq.Next(&tag, &ok);
  // An empty message (a zero-length slice, not a null buffer).
  grpc::Slice nothing("");
  grpc::ByteBuffer empty(&nothing, 1);
  call->Write(empty, reinterpret_cast<void*>(2));
  cq.Next(&tag, &ok);
  call->WritesDone(reinterpret_cast<void*>(3));
  cq.Next(&tag, &ok);
  grpc::ByteBuffer response;
  call->Read(&response, reinterpret_cast<void*>(4));
  cq.Next(&tag, &ok);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return status;
}

// Verifies every role x RPC pair of the authorization table: allowed pairs
// get past the check (any answer but PERMISSION_DENIED), the others are
// refused with PERMISSION_DENIED.
TEST(SecurityE2ETest, EveryRoleAndRpcPairIsEnforcedAsTheTableSays) {
  TempDir dir;
  BrokerProcess broker(dir.path() + "/data");
  ASSERT_TRUE(broker.running());
  int checked = 0;
  for (const auto& rpc : AuthorizationTable()) {
    for (const char* cert : kRoleCerts) {
      const bool allowed = std::find(rpc.roles.begin(), rpc.roles.end(), RoleOf(cert)) !=
                           rpc.roles.end();
      const grpc::Status status = Call(broker, cert, rpc);
      // A role refusal names the roles; an allowed role may still be
      // refused an object (e.g. an event about another agency's delivery).
      const bool refused_by_role = status.error_code() == grpc::StatusCode::PERMISSION_DENIED &&
                                   status.error_message().find(" role; ") != std::string::npos;
      if (allowed) {
        EXPECT_FALSE(refused_by_role) << rpc.rpc << " as " << cert << ": " << status.error_message();
      } else {
        EXPECT_TRUE(refused_by_role) << rpc.rpc << " as " << cert << ": " << status.error_message();
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, static_cast<int>(AuthorizationTable().size() * std::size(kRoleCerts)));
}

std::string LimitedConfig(const std::string& dir) {
  const std::string path = dir + "/limited.yaml";
  std::string yaml = ReadText(SourcePath("deploy/config/connecticut.yaml"));
  const size_t server = yaml.find("\nserver:\n");
  EXPECT_NE(server, std::string::npos) << "the Connecticut config has no server section";
  yaml.insert(server + std::string("\nserver:\n").size(),
              "  rate_limit_per_second: 20\n  rate_limit_burst: 20\n"
              "  max_streams_per_identity: 2\n");
  std::ofstream(path) << yaml;
  return path;
}

TEST(SecurityE2ETest, LimitsGiveTheirErrorsWhileOtherClientsStillSucceed) {
  TempDir dir;
  BrokerProcess broker(dir.path() + "/data", LimitedConfig(dir.path()));
  ASSERT_TRUE(broker.running());

  // An oversized message (over the 2 MiB receive limit).
  v1::SubmitIntakeRequest big;
  *big.mutable_intake() = LoadIntake("school-sex-trafficking-hartford");
  big.mutable_intake()->mutable_concern()->set_narrative(std::string(3 << 20, 'x'));
  v1::SubmitIntakeResponse unused;
  EXPECT_EQ(broker.Intake()->SubmitIntake(CallContext().get(), big, &unused).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);

  // A unary call without a deadline.
  {
    grpc::ClientContext no_deadline;
    v1::GetReferralRequest request;
    request.set_referral_id("ref_NONE");
    v1::ReferralStatus status;
    const grpc::Status result = broker.Supervisor()->GetReferral(&no_deadline, request, &status);
    EXPECT_EQ(result.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(result.error_message(), HasSubstr("deadline"));
  }

  // Too many streams for one certificate; another agency still subscribes.
  // With a delivery waiting on the feed, every accepted stream answers at
  // once, so no read blocks: two get the event, one is refused. The broker
  // decides each stream when its call arrives, and answers an accepted one
  // with its headers at once, a refused one with its status: all three are
  // decided before any is cancelled (a slot freed by the first one's
  // cancel could otherwise go to a third call that had not arrived yet).
  v1::SubmitIntakeRequest hartford;
  *hartford.mutable_intake() = LoadIntake("school-sex-trafficking-hartford");
  ASSERT_TRUE(broker.Intake()->SubmitIntake(CallContext().get(), hartford, &unused).ok());
  auto feed = broker.Feed("hartford-pd");
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::FeedEvent>>> streams;
  for (int i = 0; i < 3; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    contexts.back()->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    streams.push_back(feed->Subscribe(contexts.back().get(), v1::SubscribeRequest()));
  }
  for (auto& stream : streams) stream->WaitForInitialMetadata();
  int served = 0, refused = 0;
  for (int i = 0; i < 3; ++i) {
    v1::FeedEvent event;
    if (streams[i]->Read(&event)) {
      ++served;
      contexts[i]->TryCancel();
      streams[i]->Finish();
    } else {
      const grpc::Status status = streams[i]->Finish();
      EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
      ++refused;
    }
  }
  EXPECT_EQ(served, 2);
  EXPECT_EQ(refused, 1);
  v1::SubmitIntakeRequest request;
  *request.mutable_intake() = LoadIntake("labor-trafficking-waterbury");
  ASSERT_TRUE(broker.Intake()->SubmitIntake(CallContext().get(), request, &unused).ok());
  const std::string waterbury = unused.receipt().destinations(0).delivery_id();
  EXPECT_EQ(DrainFeed(broker, unused.receipt().destinations(0).agency_id(), {waterbury}).size(),
            1u);

  // A flooding client is limited; another identity's calls still succeed.
  auto flooder = broker.Feed("csao");
  int limited = 0;
  for (int i = 0; i < 60; ++i) {
    v1::AcknowledgeRequest ack;
    ack.set_delivery_id("dlv_NONE");
    ack.set_kind(v1::Acknowledgement::RECEIVED);
    v1::AcknowledgeResponse response;
    const grpc::Status status = flooder->Acknowledge(CallContext().get(), ack, &response);
    if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) ++limited;
  }
  EXPECT_GT(limited, 2);
  // Logged once a period per identity with the count held back, not once
  // a refusal: a flood of calls does not become a flood of log lines.
  const std::string log = ReadText(dir.path() + "/data.log");
  const std::string line = "event=rate_limited actor=agency/csao ";
  size_t lines = 0;
  for (size_t at = log.find(line); at != std::string::npos; at = log.find(line, at + 1)) {
    ++lines;
  }
  EXPECT_GE(lines, 1u);
  EXPECT_LE(lines, 2u) << limited << " refusals";
  v1::GetReferralRequest get;
  get.set_referral_id(unused.receipt().referral_id());
  v1::ReferralStatus status;
  EXPECT_TRUE(broker.Supervisor()->GetReferral(CallContext().get(), get, &status).ok());
}

// The whole example scenario with debug logging: no child's or reporter's
// name, birth date, phone number, case id (DCF's or the Careline report's) or
// narrative appears in any log line or audit entry.
TEST(SecurityE2ETest, NoPiiInAnyLogLine) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  {
    BrokerProcess broker(data);
    ASSERT_TRUE(broker.running());
    std::vector<v1::Intake> intakes;
    for (const char* name : {"school-sex-trafficking-hartford", "missing-from-foster-care-new-haven",
                             "labor-trafficking-waterbury", "urgent-hotel-bridgeport",
                             "invalid-adult-not-dcf"}) {
      intakes.push_back(LoadIntake(name));
      v1::SubmitIntakeRequest request;
      *request.mutable_intake() = intakes.back();
      v1::SubmitIntakeResponse response;
      const grpc::Status status = broker.Intake()->SubmitIntake(CallContext().get(), request, &response);
      for (const auto& d : response.receipt().destinations()) {
        if (!IsFeedAgency(d.agency_id())) continue;
        DrainFeed(broker, d.agency_id(), {d.delivery_id()});
      }
      // Conflicting resubmission and explain too: their errors are logged.
      const std::string& report_id = intakes.back().careline_report_id();
      request.mutable_intake()->mutable_concern()->set_narrative("changed");
      const grpc::Status conflict =
          broker.Intake()->SubmitIntake(CallContext().get(), request, &response);
      if (status.ok()) {
        EXPECT_EQ(conflict.error_code(), grpc::StatusCode::ALREADY_EXISTS);
      }
      // A supplement named after its report, as the Careline's own are, and
      // a retry of it with other content; for the rejected intake, a
      // supplement of a report the broker does not have.
      v1::SupplementIntakeRequest supplement;
      supplement.set_careline_report_id(report_id);
      supplement.mutable_supplement()->set_supplement_id(report_id + "-S1");
      *supplement.mutable_supplement()->mutable_received_at() = intakes.back().received_at();
      supplement.mutable_supplement()->set_child_found(true);
      v1::SupplementIntakeResponse supplemented;
      const grpc::Status first =
          broker.Intake()->SupplementIntake(CallContext().get(), supplement, &supplemented);
      supplement.mutable_supplement()->set_child_found(false);
      const grpc::Status retried =
          broker.Intake()->SupplementIntake(CallContext().get(), supplement, &supplemented);
      if (status.ok()) {
        EXPECT_TRUE(first.ok()) << first.error_message();
        EXPECT_EQ(retried.error_code(), grpc::StatusCode::ALREADY_EXISTS);
      } else {
        EXPECT_EQ(first.error_code(), grpc::StatusCode::NOT_FOUND);
      }
      // Their answers name neither the report nor the supplement.
      for (const grpc::Status* answer : {&conflict, &first, &retried}) {
        EXPECT_EQ(answer->error_message().find(report_id), std::string::npos)
            << answer->error_message();
      }
      v1::ExplainRoutingRequest explain;
      *explain.mutable_intake() = intakes.back();
      v1::ExplainRoutingResponse explained;
      broker.Supervisor()->ExplainRouting(CallContext().get(), explain, &explained);
      (void)status;
    }
    broker.Terminate();
    std::string log = ReadText(data + ".log");
    ASSERT_FALSE(log.empty());
    // The audit entries (actor, action, ids, details) join the search.
    {
      sqlite3* db = nullptr;
      ASSERT_EQ(sqlite3_open_v2((data + "/hart.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
                SQLITE_OK);
      sqlite3_stmt* stmt = nullptr;
      ASSERT_EQ(sqlite3_prepare_v2(db,
                                   "SELECT actor || ' ' || action || ' ' || referral_id || ' ' || "
                                   "delivery_id || ' ' || detail FROM audit_events",
                                   -1, &stmt, nullptr),
                SQLITE_OK);
      int events = 0;
      while (sqlite3_step(stmt) == SQLITE_ROW) {
        log += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
        log += "\n";
        ++events;
      }
      sqlite3_finalize(stmt);
      sqlite3_close(db);
      EXPECT_GT(events, 50);
    }
    for (const auto& intake : intakes) {
      std::vector<std::string> pii = {intake.reporter().name(), intake.reporter().phone(),
                                      intake.child().given_name(), intake.child().family_name(),
                                      intake.child().date_of_birth(),
                                      intake.child().dcf_case_id(),
                                      intake.careline_report_id()};
      if (!intake.concern().narrative().empty()) {
        pii.push_back(intake.concern().narrative().substr(0, 24));
      }
      for (const auto& value : pii) {
        if (value.empty()) continue;
        EXPECT_EQ(log.find(value), std::string::npos) << "log contains " << value;
      }
    }
  }
}

}  // namespace
}  // namespace hart::testing
