#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "adapters/builtin.h"
#include "broker/config/config_loader.h"
#include "broker/common/time_util.h"
#include "broker/routing/geography.h"
#include "broker/store/store_factory.h"
#include "tests/support/test_support.h"

namespace hart {
namespace {

namespace v1 = ::hart::referral::v1;

using ::testing::HasSubstr;
using hart::testing::SourcePath;
using hart::testing::TempDir;

class ConfigTest : public ::testing::Test {
 protected:
  ConfigTest() { EXPECT_TRUE(RegisterBuiltinAdapters(registry_, {}).ok()); }
  std::string Write(const std::string& yaml) {
    const std::string path = dir_.path() + "/broker.yaml";
    std::ofstream(path) << yaml;
    return path;
  }
  // The shipped Connecticut file with `from` replaced by `to`.
  std::string Edited(const std::string& from, const std::string& to) {
    std::string text = hart::testing::ReadText(SourcePath("deploy/config/connecticut.yaml"));
    const size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    return Write(text);
  }
  TempDir dir_;
  AdapterRegistry registry_;
};

TEST_F(ConfigTest, TheShippedConnecticutConfigIsValid) {
  auto config = LoadConfig(SourcePath("deploy/config/connecticut.yaml"), registry_);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->rules_size(), 5);
  EXPECT_GE(config->towns_size(), 15);
  EXPECT_EQ(config->server().listen_address(), "127.0.0.1:7443");  // default applied
}

TEST_F(ConfigTest, UnknownKeyIsAnErrorNamingFileAndKeyPath) {
  auto config = ParseConfigFile(Write("rules:\n  - id: a\n    whne: {}\n"));
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("broker.yaml:3:5: rules[0].whne: unknown key"));
}

TEST_F(ConfigTest, UnknownStoreBackendIsAnErrorNamingFileLineAndKey) {
  auto config = ParseConfigFile(Write("server:\n  listen_address: 127.0.0.1:0\nstore:\n  backend: oracle\n"));
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("broker.yaml:4:3: store.backend: 'oracle' is not one of: sqlite"));
}

TEST_F(ConfigTest, EveryBackendTheConfigAcceptsTheStoreFactoryOpens) {
  for (const std::string& backend : KnownStoreBackends()) {
    auto config = ParseConfigFile(Write("store:\n  backend: " + backend + "\n"));
    EXPECT_TRUE(config.ok()) << backend << ": " << config.status();
  }
  StoreOpenOptions options;
  options.backend = "oracle";
  options.data_dir = dir_.path() + "/data";
  EXPECT_EQ(OpenStore(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ConfigTest, MalformedBrokerIdIsAnErrorWithItsLine) {
  auto config = ParseConfigFile(Write("store:\n  broker_id: Broker One\n"));
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("broker.yaml:2:3: store.broker_id"));
}

TEST_F(ConfigTest, ReportsEveryTypeProblemAtOnce) {
  auto config = ParseConfigFile(Write(
      "dispatch:\n  max_attempts: lots\n  initial_backoff: soon\n"
      "agencies:\n  - id: x\n    kind: SHERIFF\n"));
  ASSERT_FALSE(config.ok());
  const std::string message(config.status().message());
  EXPECT_THAT(message, HasSubstr("dispatch.max_attempts: expected a whole number"));
  EXPECT_THAT(message, HasSubstr("dispatch.initial_backoff: expected a duration"));
  EXPECT_THAT(message, HasSubstr("agencies[0].kind: 'SHERIFF' is not one of"));
}

// Regression (fuzz_config): a list or mapping used as a key threw from
// yaml-cpp and aborted the broker instead of being reported.
TEST_F(ConfigTest, NonScalarKeysAreReportedNotFatal) {
  auto config = ParseConfigFile(Write("{}: 1\nagencies:\n  - adapter: {type: grpc_feed, settings: {[x]: 1}}\n"));
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("a key must be a plain name"));
}

TEST_F(ConfigTest, TownWithUnknownPoliceAgencyIsRejected) {
  auto config = LoadConfig(Edited("police: hartford-pd", "police: hartford-sheriff"), registry_);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("town 'Hartford': police 'hartford-sheriff' is not an agency"));
}

TEST_F(ConfigTest, UnknownAdapterTypeIsRejectedWithTheKnownOnes) {
  auto config = LoadConfig(Edited("type: grpc_feed", "type: carrier_pigeon"), registry_);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("adapter type 'carrier_pigeon' is not one of: email, file_drop, grpc_feed, ncmec, webhook"));
}

TEST_F(ConfigTest, AdapterSettingsAreCheckedByTheAdapter) {
  auto config = LoadConfig(Edited("{type: grpc_feed}", "{type: grpc_feed, settings: {colour: red}}"), registry_);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("grpc_feed has no setting 'colour'"));
}

TEST_F(ConfigTest, EveryOneOfThe169TownsResolvesToRegionPoliceMdtAndCac) {
  auto config = LoadConfig(SourcePath("deploy/config/connecticut.yaml"), registry_);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->towns_size(), 169);
  std::vector<std::string> problems;
  const Geography geography = Geography::Build(*config, &problems);
  EXPECT_THAT(problems, ::testing::IsEmpty());
  std::set<std::string> names;
  for (const auto& town : config->towns()) {
    EXPECT_TRUE(names.insert(town.name()).second) << town.name();
    EXPECT_GE(town.region(), 1u);
    EXPECT_LE(town.region(), 6u);
    EXPECT_NE(geography.FindRegion(town.region()), nullptr) << town.name();
    for (auto kind : {v1::LOCAL_LAW_ENFORCEMENT, v1::MDT, v1::CAC, v1::HART_REGIONAL_LEAD,
                      v1::HT_TASK_FORCE, v1::STATE_ATTORNEY, v1::NCMEC}) {
      auto agency = geography.AgencyFor(kind, town);
      ASSERT_TRUE(agency.ok()) << town.name() << ": " << agency.status();
      EXPECT_EQ((*agency)->kind(), kind) << town.name();
    }
    EXPECT_EQ(geography.ResolveTown(town.name()), &town);
  }
}

TEST_F(ConfigTest, TownWithoutAnMdtIsRejectedByName) {
  auto config = LoadConfig(Edited("    mdt: mdt-hartford\n", ""), registry_);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("town '"));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("' has no mdt"));
}

TEST_F(ConfigTest, RuleWithAnUnknownKindIsRejectedWithItsPath) {
  auto config = LoadConfig(Edited("      - kind: HT_TASK_FORCE", "      - kind: FBI"), registry_);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("rules[0].destinations[1].kind: 'FBI' is not one of"));
}

TEST_F(ConfigTest, RuleWithAKindNoTownResolvesIsRejected) {
  // No agency of kind NCMEC once NCMEC is removed from the agencies.
  auto config = LoadConfig(Edited("kind: NCMEC", "kind: HART_STATEWIDE_COORDINATOR"), registry_);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("no agency of kind NCMEC serves town"));
}

TEST_F(ConfigTest, StoreExecutorDefaultsApplyWhenUnsetOrZero) {
  auto config = LoadConfig(
      Edited("\nserver:\n", "\nstore:\n  executor_threads: 0\nserver:\n"), registry_);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->store().executor_threads(), 4u);
  EXPECT_EQ(config->store().executor_queue_limit(), 4096u);
}

TEST_F(ConfigTest, StoreExecutorKeepsSensibleValues) {
  auto config = LoadConfig(
      Edited("\nserver:\n",
             "\nstore:\n  executor_threads: 8\n  executor_queue_limit: 100\nserver:\n"),
      registry_);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->store().executor_threads(), 8u);
  EXPECT_EQ(config->store().executor_queue_limit(), 100u);
}

TEST_F(ConfigTest, AbsurdStoreExecutorSizesAreRejectedWithTheirRange) {
  auto config = LoadConfig(
      Edited("\nserver:\n",
             "\nstore:\n  executor_threads: 4000\n  executor_queue_limit: 4000000000\n"
             "server:\n"),
      registry_);
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(config.status().message());
  EXPECT_THAT(message, HasSubstr("store.executor_threads: 4000 is too many; use 1 to 64"));
  EXPECT_THAT(message,
              HasSubstr("store.executor_queue_limit: 4000000000 is too large; use 1 to 1048576"));
}

TEST_F(ConfigTest, AckLingerDefaultsByBackendAndIsBounded) {
  auto sqlite = LoadConfig(Edited("\nserver:\n", "\nstore:\n  executor_threads: 4\nserver:\n"),
                           registry_);
  ASSERT_TRUE(sqlite.ok()) << sqlite.status();
  EXPECT_EQ(FromProtoDuration(sqlite->store().ack_linger()), absl::ZeroDuration());

  const std::string postgres =
      "\nstore:\n  backend: postgres\n  broker_id: replica-1\n  postgres:\n"
      "    conninfo: \"host=db.example dbname=hart user=hart\"\n    ca_file: db-ca.crt\n";
  auto replica = LoadConfig(Edited("\nserver:\n", postgres + "server:\n"), registry_);
  ASSERT_TRUE(replica.ok()) << replica.status();
  EXPECT_EQ(FromProtoDuration(replica->store().ack_linger()), absl::Milliseconds(20));

  auto chosen = LoadConfig(
      Edited("\nserver:\n", postgres + "  ack_linger: 0s\nserver:\n"), registry_);
  ASSERT_TRUE(chosen.ok()) << chosen.status();
  EXPECT_EQ(FromProtoDuration(chosen->store().ack_linger()), absl::ZeroDuration());

  auto absurd = LoadConfig(
      Edited("\nserver:\n", postgres + "  ack_linger: 2s\nserver:\n"), registry_);
  ASSERT_EQ(absurd.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(absurd.status().message()),
              HasSubstr("store.ack_linger: 2s is out of range; use 0s to 1s"));
}

TEST_F(ConfigTest, AClaimLeaseMustBePositive) {
  auto lease = [&](const char* value) {
    return LoadConfig(
        Edited("\nserver:\n", absl::StrCat("\ndispatch:\n  claim_lease: ", value, "\nserver:\n")),
        registry_);
  };
  auto zero = lease("0s");
  ASSERT_EQ(zero.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(zero.status().message()),
              HasSubstr("dispatch.claim_lease: 0s must be positive"));
  auto negative = lease("-5s");
  ASSERT_EQ(negative.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(negative.status().message()),
              HasSubstr("dispatch.claim_lease: expected a duration"));
  ASSERT_TRUE(lease("2s").ok());
}

TEST_F(ConfigTest, TheOpsPortDefaultsToLoopbackWithBoundedLimits) {
  auto config = LoadConfig(SourcePath("deploy/config/connecticut.yaml"), registry_);
  ASSERT_TRUE(config.ok()) << config.status();
  const auto& ops = config->server().ops();
  EXPECT_EQ(ops.listen_address(), "127.0.0.1:9443");
  EXPECT_EQ(ops.max_connections(), 64u);
  EXPECT_EQ(ops.max_header_bytes(), 16u << 10);
  EXPECT_EQ(ops.max_body_bytes(), 64u << 10);
  EXPECT_EQ(ops.request_timeout().seconds(), 10);
  EXPECT_EQ(ops.readiness_interval().seconds(), 2);
  EXPECT_EQ(ops.store_write_timeout().seconds(), 10);
  EXPECT_EQ(ops.drain_timeout().seconds(), 10);
}

TEST_F(ConfigTest, TheOpsPortMayBeOffOrOnAnyIpAndPort) {
  for (const char* address : {"off", "0.0.0.0:9443", "[::1]:0", "127.0.0.1:0"}) {
    auto config = LoadConfig(
        Edited("\nserver:\n", absl::StrCat("\nserver:\n  ops:\n    listen_address: \"", address,
                                            "\"\n")),
        registry_);
    ASSERT_TRUE(config.ok()) << address << ": " << config.status();
    EXPECT_EQ(config->server().ops().listen_address(), address);
  }
}

TEST_F(ConfigTest, BadOpsSettingsAreReportedByKeyPath) {
  auto config = LoadConfig(
      Edited("\nserver:\n",
             "\nserver:\n  ops:\n    listen_address: \"localhost:9443\"\n"
             "    drain_timeout: \"0s\"\n    max_connections: 100000\n"),
      registry_);
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(config.status().message());
  EXPECT_THAT(message, HasSubstr("server.ops.listen_address: 'localhost:9443': the host must be "
                                 "an IP address"));
  EXPECT_THAT(message, HasSubstr("server.ops.drain_timeout: must be positive"));
  EXPECT_THAT(message, HasSubstr("server.ops.max_connections: 100000 is too large"));
  config = LoadConfig(
      Edited("\nserver:\n", "\nserver:\n  ops:\n    listen_address: \"127.0.0.1:99999\"\n"),
      registry_);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("server.ops.listen_address: '127.0.0.1:99999': the port must be a number "
                        "from 0 to 65535"));
}

// gRPC would take port 70000 as 4464 (modulo 2^16) and bind a name as it
// resolves: the gRPC address is held to the ops port's rule.
TEST_F(ConfigTest, TheGrpcListenAddressIsAnIpAndAPortInRange) {
  for (const auto& [address, problem] :
       std::vector<std::pair<std::string, std::string>>{
           {"127.0.0.1:70000", "the port must be a number from 0 to 65535"},
           {"not-an-address", "is not IP:port"},
           {"localhost:7443", "the host must be an IP address"}}) {
    auto config = LoadConfig(
        Edited("\nserver:\n", absl::StrCat("\nserver:\n  listen_address: \"", address, "\"\n")),
        registry_);
    ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << address;
    EXPECT_THAT(std::string(config.status().message()),
                HasSubstr(absl::StrCat("server.listen_address: '", address)));
    EXPECT_THAT(std::string(config.status().message()), HasSubstr(problem));
  }
  auto config = LoadConfig(
      Edited("\nserver:\n", "\nserver:\n  listen_address: \"[::1]:7443\"\n"), registry_);
  EXPECT_TRUE(config.ok()) << config.status();
}

// yaml-cpp opens a directory and throws the standard library's read error.
TEST_F(ConfigTest, ADirectoryGivenAsTheConfigFileIsAnErrorNotACrash) {
  auto config = LoadConfig(dir_.path(), registry_);
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("is a directory"));
}

TEST(AdapterRegistryTest, RegistersFindsAndRefusesDuplicates) {
  AdapterRegistry registry;
  ASSERT_TRUE(RegisterBuiltinAdapters(registry, {}).ok());
  EXPECT_NE(registry.Find("grpc_feed"), nullptr);
  EXPECT_EQ(registry.Find("carrier_pigeon"), nullptr);
  EXPECT_THAT(registry.Types(), ::testing::ElementsAre("email", "file_drop", "grpc_feed",
                                                       "ncmec", "webhook"));
  EXPECT_EQ(RegisterBuiltinAdapters(registry, {}).code(), absl::StatusCode::kAlreadyExists);
  // A factory without an appender validates but cannot build.
  EXPECT_EQ(registry.Find("grpc_feed")->Create("x", {}, {}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace hart
