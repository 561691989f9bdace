// The operations port of the real hart-broker binary over HTTPS (/livez,
// /readyz, /healthz, and the gRPC health service saying the same), and the
// drain a SIGTERM starts: readiness false, new calls refused, streams ended
// with a status, the call in flight finished, exit 0.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <fstream>
#include <optional>
#include <thread>

#include "absl/strings/match.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/e2e/broker_process.h"
#include "tests/e2e/e2e_store.h"
#include "tests/support/https_test_client.h"
#include "yaml-cpp/yaml.h"

namespace hart::testing {
namespace {

using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::testing::HasSubstr;

constexpr char kShuttingDown[] = "the broker is shutting down; retry on another replica";

// A connection to the broker's operations port, trusting its CA; `cert`
// names a dev certificate to present (empty: none).
std::unique_ptr<HttpsTestClient> OpsClient(const BrokerProcess& broker,
                                           const std::string& cert = "") {
  HttpsTestClientOptions options;
  options.ca_file = DevCertsDir() + "/ca.crt";
  if (!cert.empty()) {
    options.cert_file = DevCertsDir() + "/" + cert + ".crt";
    options.key_file = DevCertsDir() + "/" + cert + ".key";
  }
  auto client = HttpsTestClient::Connect(broker.ops_port(), options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? std::move(*client) : nullptr;
}

std::optional<HealthCheckResponse::ServingStatus> HealthOf(grpc::health::v1::Health::Stub& health,
                                                           const std::string& service) {
  HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  auto context = CallContext();
  if (!health.Check(context.get(), request, &response).ok()) return std::nullopt;
  return response.status();
}

grpc::Status Submit(v1::IntakeService::Stub& intake, const std::string& example,
                    v1::SubmitIntakeResponse* response, std::chrono::seconds deadline) {
  v1::SubmitIntakeRequest request;
  *request.mutable_intake() = LoadIntake(example);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + deadline);
  return intake.SubmitIntake(&context, request, response);
}

TEST(OpsE2eTest, HealthAnswersOverHttpsAndOnTheGrpcHealthService) {
  TempDir dir;
  BrokerProcess broker(dir.path() + "/data");
  ASSERT_TRUE(broker.running());
  ASSERT_GT(broker.ops_port(), 0);
  ASSERT_NE(broker.ops_port(), broker.port());
  for (const std::string cert : {"", "supervisor"}) {  // a client certificate is optional
    auto ops = OpsClient(broker, cert);
    ASSERT_TRUE(ops);
    auto live = ops->Get("/livez");
    ASSERT_TRUE(live.ok()) << live.status();
    EXPECT_EQ(live->status, 200);
    EXPECT_EQ(live->body, "ok\n");
    for (const char* path : {"/readyz", "/healthz"}) {
      auto ready = ops->Get(path);
      ASSERT_TRUE(ready.ok()) << ready.status();
      EXPECT_EQ(ready->status, 200) << ready->body;
      EXPECT_THAT(ready->body, HasSubstr("[+]store ok: writable"));
      EXPECT_THAT(ready->body, HasSubstr("readyz check passed"));
    }
    auto missing = ops->Get("/no-such-page");
    ASSERT_TRUE(missing.ok());
    EXPECT_EQ(missing->status, 404);
  }
  auto health = grpc::health::v1::Health::NewStub(broker.Channel("operator"));
  for (const std::string service : {"", "hart.referral.v1.IntakeService",
                                    "hart.referral.v1.FeedService",
                                    "hart.referral.v1.SupervisorService"}) {
    EXPECT_EQ(HealthOf(*health, service), HealthCheckResponse::SERVING) << "'" << service << "'";
  }
}

// Verifies the drain end to end. A Subscribe stream is open and an intake
// is in flight: the test holds the SQLite file's write lock, so the intake
// waits for its commit (the broker waits up to 5 s for the lock; the test
// holds it for much less). Then SIGTERM: /readyz says 503 and the gRPC
// health service NOT_SERVING while the broker still runs, a new call is
// refused UNAVAILABLE, the stream ends with UNAVAILABLE; the lock released,
// the intake in flight commits and is answered, and the broker exits 0.
TEST(OpsE2eTest, SigtermDrainsThenExitsZero) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  BrokerProcess broker(data);
  ASSERT_TRUE(broker.running());

  // A delivery on an agency's feed: once it arrives, the stream is open.
  auto careline = broker.Intake();
  v1::SubmitIntakeResponse first;
  ASSERT_TRUE(Submit(*careline, "school-sex-trafficking-hartford", &first,
                     std::chrono::seconds(10)).ok());
  std::string agency, delivery_id;
  for (const auto& destination : first.receipt().destinations()) {
    if (IsFeedAgency(destination.agency_id())) {
      agency = destination.agency_id();
      delivery_id = destination.delivery_id();
      break;
    }
  }
  ASSERT_FALSE(agency.empty());
  auto feed = broker.Feed(agency);
  grpc::ClientContext stream_context;
  stream_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto stream = feed->Subscribe(&stream_context, v1::SubscribeRequest());
  v1::FeedEvent event;
  bool delivered = false;
  while (!delivered && stream->Read(&event)) {
    delivered = event.has_delivery() && event.delivery().delivery_id() == delivery_id;
  }
  ASSERT_TRUE(delivered);

  // Connected now, so that what follows the SIGTERM are calls only.
  auto ops = OpsClient(broker);
  ASSERT_TRUE(ops);
  auto health = grpc::health::v1::Health::NewStub(broker.Channel("operator"));
  ASSERT_EQ(HealthOf(*health, ""), HealthCheckResponse::SERVING);
  auto careline_channel = broker.Channel("careline");
  ASSERT_TRUE(careline_channel->WaitForConnected(std::chrono::system_clock::now() +
                                                 std::chrono::seconds(10)));
  auto late_careline = v1::IntakeService::NewStub(careline_channel);
  auto in_flight_careline = v1::IntakeService::NewStub(careline_channel);

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((data + "/hart.db").c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  grpc::Status in_flight_status;
  v1::SubmitIntakeResponse in_flight_response;
  std::thread in_flight([&] {
    in_flight_status = Submit(*in_flight_careline, "urgent-hotel-bridgeport", &in_flight_response,
                              std::chrono::seconds(30));
  });
  // The stream and the intake.
  EXPECT_TRUE(WaitFor([&] {
    auto ready = ops->Get("/readyz");
    return ready.ok() && absl::StrContains(ready->body, "(2 gRPC calls in flight)");
  }));

  ASSERT_EQ(kill(broker.pid(), SIGTERM), 0);
  std::optional<HttpsTestResponse> draining;
  EXPECT_TRUE(WaitFor([&] {
    auto ready = ops->Get("/readyz");
    if (ready.ok() && ready->status == 503) draining = *ready;
    return draining.has_value();
  }));
  ASSERT_TRUE(draining.has_value());
  EXPECT_THAT(draining->body, HasSubstr("[-]draining failed: the broker is shutting down"));
  EXPECT_EQ(HealthOf(*health, ""), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(HealthOf(*health, "hart.referral.v1.IntakeService"), HealthCheckResponse::NOT_SERVING);
  v1::SubmitIntakeResponse refused_response;
  const grpc::Status refused = Submit(*late_careline, "labor-trafficking-waterbury",
                                      &refused_response, std::chrono::seconds(10));
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(refused.error_message(), kShuttingDown);

  ASSERT_EQ(sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  in_flight.join();
  EXPECT_TRUE(in_flight_status.ok()) << in_flight_status.error_message();
  EXPECT_FALSE(in_flight_response.receipt().referral_id().empty());

  while (stream->Read(&event)) {
  }
  const grpc::Status ended = stream->Finish();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::UNAVAILABLE) << ended.error_message();
  EXPECT_EQ(ended.error_message(), kShuttingDown);

  const std::optional<int> exit = broker.WaitForExit(std::chrono::seconds(30));
  ASSERT_TRUE(exit.has_value()) << "the broker did not exit";
  EXPECT_TRUE(WIFEXITED(*exit) && WEXITSTATUS(*exit) == 0)
      << "exit status " << *exit << "; log:\n" << ReadText(data + ".log");
}

// The broker run with `args`: its exit code and what it printed.
std::pair<int, std::string> RunBroker(const std::string& args) {
  const std::string command = std::string(HART_BROKER_BINARY) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::string output;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

TEST(OpsE2eTest, CheckConfigNamesABadOpsAddressByItsKeyPath) {
  TempDir dir;
  YAML::Node root = YAML::LoadFile(SourcePath("deploy/config/connecticut.yaml"));
  root["server"]["ops"]["listen_address"] = "localhost:9443";
  const std::string path = dir.path() + "/bad-ops.yaml";
  std::ofstream(path) << root << "\n";
  const auto [exit_code, output] = RunBroker("--check-config " + path);
  EXPECT_EQ(exit_code, 1) << output;
  EXPECT_THAT(output, HasSubstr("server.ops.listen_address: 'localhost:9443': the host must be "
                                "an IP address"));
}

// A directory for the config is an error message, not an abort; --help
// lists the broker's flags.
TEST(OpsE2eTest, TheBrokerExplainsADirectoryConfigAndItsFlags) {
  TempDir dir;
  const auto [exit_code, output] = RunBroker("--check-config " + dir.path());
  EXPECT_EQ(exit_code, 1) << output;
  EXPECT_THAT(output, HasSubstr("is a directory"));
  const auto [help_code, help] = RunBroker("--help");
  EXPECT_THAT(help, HasSubstr("check_config")) << help;
  EXPECT_THAT(help, HasSubstr("data_dir")) << help;
  (void)help_code;  // absl's --help exits 1
}

}  // namespace
}  // namespace hart::testing
