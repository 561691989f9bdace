// Two hart-broker replicas on one PostgreSQL database, through the real
// binaries: an intake submitted to replica A reaches its agencies' feeds on
// replica B, whose subscribers acknowledge there, and replica A reports
// every delivery acknowledged. Run only on PostgreSQL (CMake), against the
// test process's throw-away server.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

#include "broker/common/secret_file.h"
#include "tests/e2e/broker_process.h"
#include "tests/support/postgres_server.h"
#include "yaml-cpp/yaml.h"

namespace hart::testing {
namespace {

// The Connecticut config on `database`, as broker `broker_id`.
std::string ReplicaConfig(const TempDir& dir, PostgresServer& server, const std::string& database,
                          const std::string& broker_id) {
  YAML::Node root = YAML::LoadFile(SourcePath("deploy/config/connecticut.yaml"));
  YAML::Node store = root["store"];
  store["backend"] = "postgres";
  store["broker_id"] = broker_id;
  store["postgres"]["conninfo"] = "host=" + server.host() + " port=" + std::to_string(server.port()) +
                                  " user=" + server.user() + " dbname=" + database;
  store["postgres"]["password_file"] = server.password_file();
  store["postgres"]["sslmode"] = "disable";
  const std::string path = dir.path() + "/" + broker_id + ".yaml";
  std::ofstream(path) << root << "\n";
  return path;
}

class ReplicasE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = PostgresServer::Shared();
    ASSERT_TRUE(server.ok()) << server.status();
    auto database = (*server)->CreateDatabase("replicas");
    ASSERT_TRUE(database.ok()) << database.status();
    // Replicas share the key directory: the key-encryption keys that open
    // every referral's data key, the ack-token key, the partners' secrets.
    const std::string keys = dir_.path() + "/keys";
    ASSERT_EQ(std::system(("bash " + SourcePath("deploy/make-dev-secrets.sh") + " " + keys +
                           " >/dev/null 2>&1").c_str()), 0);
    a_ = std::make_unique<BrokerProcess>(dir_.path() + "/a",
                                         ReplicaConfig(dir_, **server, *database, "replica-a"),
                                         std::vector<std::string>{"--key-dir", keys});
    b_ = std::make_unique<BrokerProcess>(dir_.path() + "/b",
                                         ReplicaConfig(dir_, **server, *database, "replica-b"),
                                         std::vector<std::string>{"--key-dir", keys});
  }

  TempDir dir_;
  std::unique_ptr<BrokerProcess> a_;
  std::unique_ptr<BrokerProcess> b_;
};

TEST_F(ReplicasE2ETest, SubmittedToOneReplicaDeliveredAndAcknowledgedOnTheOther) {
  ASSERT_TRUE(a_->running() && b_->running());
  std::map<std::string, std::set<std::string>> expected_by_agency;
  std::vector<std::string> referral_ids;
  for (const char* name : {"school-sex-trafficking-hartford", "urgent-hotel-bridgeport"}) {
    v1::SubmitIntakeRequest request;
    *request.mutable_intake() = LoadIntake(name);
    v1::SubmitIntakeResponse response;
    auto context = CallContext();
    const grpc::Status status = a_->Intake()->SubmitIntake(context.get(), request, &response);
    ASSERT_TRUE(status.ok()) << name << ": " << status.error_message();
    referral_ids.push_back(response.receipt().referral_id());
    for (const auto& d : response.receipt().destinations()) {
      expected_by_agency[d.agency_id()].insert(d.delivery_id());
    }
  }
  size_t feed_deliveries = 0;
  for (const auto& [agency, expected] : expected_by_agency) {
    if (!IsFeedAgency(agency)) continue;
    // Subscribed to B: A's dispatcher put them on the feed; B wakes its
    // subscriber and records the acknowledgements.
    const auto received = DrainFeed(*b_, agency, expected);
    EXPECT_EQ(std::set<std::string>(received.begin(), received.end()), expected) << agency;
    feed_deliveries += expected.size();
  }
  EXPECT_GT(feed_deliveries, 0u);
  // A sees B's acknowledgements: one database.
  for (const auto& referral_id : referral_ids) {
    const bool all_acknowledged = WaitFor(
        [&] {
          v1::GetReferralRequest request;
          request.set_referral_id(referral_id);
          v1::ReferralStatus status;
          auto context = CallContext();
          if (!a_->Supervisor()->GetReferral(context.get(), request, &status).ok()) return false;
          for (const auto& d : status.deliveries()) {
            if (d.kind() == v1::REFERRAL && IsFeedAgency(d.agency_id()) &&
                d.state() != v1::ACKNOWLEDGED) {
              return false;
            }
          }
          return true;
        },
        std::chrono::seconds(20));
    EXPECT_TRUE(all_acknowledged) << referral_id;
  }
  if (HasFailure()) {
    for (const char* replica : {"a", "b"}) {
      const std::string log = ReadText(dir_.path() + "/" + replica + ".log");
      ADD_FAILURE() << "replica " << replica << " log (tail):\n"
                    << log.substr(log.size() > 6000 ? log.size() - 6000 : 0);
    }
  }
}

}  // namespace
}  // namespace hart::testing
