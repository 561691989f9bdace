#include "tests/faults/storage_fault_harness.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>

#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/e2e/replica_cluster.h"
#include "tests/support/https_test_client.h"

namespace hart::testing {

// The variable the broker's fault VFS reads (sqlite_fault_vfs.h).
constexpr char kFaultControlEnv[] = "HART_SQLITE_FAULT_CONTROL";

FaultControl::FaultControl(const std::string& path) : path_(path) {
  setenv(kFaultControlEnv, path_.c_str(), 1);
}

FaultControl::~FaultControl() {
  Clear();
  unsetenv(kFaultControlEnv);
}

void FaultControl::Set(const std::string& rules) {
  const std::string tmp = path_ + ".tmp";
  std::ofstream(tmp) << rules;
  ASSERT_EQ(std::rename(tmp.c_str(), path_.c_str()), 0);
}

void FaultControl::Clear() { std::remove(path_.c_str()); }

grpc::Status IntakeLedger::Submit(const BrokerProcess& broker) {
  const char* examples[] = {"school-sex-trafficking-hartford", "urgent-hotel-bridgeport",
                            "labor-trafficking-waterbury"};
  const int n = next_++;
  v1::SubmitIntakeRequest request;
  *request.mutable_intake() = LoadIntake(examples[n % 3]);
  const std::string careline_id = prefix_ + "-" + std::to_string(n);
  request.mutable_intake()->set_careline_report_id(careline_id);
  v1::SubmitIntakeResponse response;
  auto context = CallContext();
  const grpc::Status status = broker.Intake()->SubmitIntake(context.get(), request, &response);
  if (status.ok()) {
    acknowledged_.push_back(response.receipt());
  } else {
    refused_.insert(careline_id);
  }
  return status;
}

std::optional<Readiness> ReadyzOf(const BrokerProcess& broker) {
  HttpsTestClientOptions options;
  options.ca_file = DevCertsDir() + "/ca.crt";
  auto client = HttpsTestClient::Connect(broker.ops_port(), options);
  if (!client.ok()) return std::nullopt;
  auto response = (*client)->Get("/readyz");
  if (!response.ok()) return std::nullopt;
  return Readiness{response->status, response->body};
}

std::optional<bool> HealthServing(const BrokerProcess& broker) {
  auto health = grpc::health::v1::Health::NewStub(broker.Channel("operator"));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  auto context = CallContext();
  if (!health->Check(context.get(), request, &response).ok()) return std::nullopt;
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

bool WaitForReadiness(const BrokerProcess& broker, bool ready) {
  return PollFor(
      [&] {
        const auto readyz = ReadyzOf(broker);
        if (!readyz || (readyz->status == 200) != ready) return false;
        return HealthServing(broker) == ready;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(50));
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::pair<std::string, std::string> FeedDeliveryOf(const v1::Receipt& receipt) {
  for (const auto& d : receipt.destinations()) {
    if (IsFeedAgency(d.agency_id())) return {d.agency_id(), d.delivery_id()};
  }
  return {};
}

grpc::Status Acknowledge(const BrokerProcess& broker, const std::string& agency_id,
                         const std::string& delivery_id, v1::Acknowledgement::Kind kind) {
  v1::AcknowledgeRequest request;
  request.set_delivery_id(delivery_id);
  request.set_kind(kind);
  v1::AcknowledgeResponse response;
  auto context = CallContext();
  return broker.Feed(agency_id)->Acknowledge(context.get(), request, &response);
}

namespace {

// Every careline report id the broker stored, read as a supervisor.
std::set<std::string> StoredCarelineIds(const BrokerProcess& broker) {
  std::set<std::string> ids;
  auto supervisor = broker.Supervisor();
  v1::ListReferralsRequest request;
  request.set_page_size(500);
  for (;;) {
    v1::ListReferralsResponse response;
    auto context = CallContext();
    const grpc::Status status = supervisor->ListReferrals(context.get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (!status.ok()) return ids;
    for (const auto& r : response.referrals()) ids.insert(r.careline_report_id());
    if (response.next_page_token().empty()) return ids;
    request.set_page_token(response.next_page_token());
  }
}

}  // namespace

void ExpectEverythingAcknowledgedKept(const BrokerProcess& broker, const IntakeLedger& ledger,
                                      const std::string& data_dir) {
  auto supervisor = broker.Supervisor();
  std::map<std::string, std::set<std::string>> feed_deliveries;
  for (const auto& receipt : ledger.acknowledged()) {
    v1::GetReferralRequest request;
    request.set_referral_id(receipt.referral_id());
    v1::ReferralStatus status;
    auto context = CallContext();
    const grpc::Status got = supervisor->GetReferral(context.get(), request, &status);
    ASSERT_TRUE(got.ok()) << "acknowledged referral lost: " << receipt.referral_id() << " "
                          << got.error_message();
    std::set<std::string> stored;
    for (const auto& d : status.deliveries()) stored.insert(d.delivery_id());
    for (const auto& d : receipt.destinations()) {
      EXPECT_TRUE(stored.count(d.delivery_id())) << "delivery lost: " << d.delivery_id();
      if (IsFeedAgency(d.agency_id())) feed_deliveries[d.agency_id()].insert(d.delivery_id());
    }
  }
  for (const auto& [agency, expected] : feed_deliveries) {
    const auto received = DrainFeed(broker, agency, expected, 0, /*ack=*/false);
    const std::set<std::string> seen(received.begin(), received.end());
    for (const auto& id : expected) EXPECT_TRUE(seen.count(id)) << agency << " never got " << id;
  }
  const std::set<std::string> stored = StoredCarelineIds(broker);
  for (const auto& refused : ledger.refused()) {
    EXPECT_FALSE(stored.count(refused)) << "a refused intake was stored: " << refused;
  }
  // Polled: the first signed checkpoint after a restart may take a moment.
  CommandOutput verify;
  EXPECT_TRUE(PollFor(
      [&] {
        verify = RunHartctl("--target 127.0.0.1:" + std::to_string(broker.port()) +
                            " --as supervisor audit verify --public_key " + data_dir +
                            "/audit-signing.key.pub");
        return verify.exit_code == 0;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(500)))
      << verify.text;
}

}  // namespace hart::testing
