// Certificate revocation and rotation through the real binary.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "hart/referral/v1/audit.grpc.pb.h"
#include "tests/e2e/broker_process.h"

namespace hart::testing {
namespace {

namespace fs = std::filesystem;

// A private copy of the dev certificates (the same CA), to change freely.
std::string CopyCerts(const std::string& dir) {
  const std::string copy = dir + "/certs";
  fs::copy(DevCertsDir(), copy, fs::copy_options::recursive);
  return copy;
}

int Shell(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()); }

grpc::Status AskForTheKey(const BrokerProcess& broker, const std::string& cert,
                          std::string* server_cert = nullptr) {
  auto stub = v1::AuditService::NewStub(broker.Channel(cert));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::PublicKey key;
  const grpc::Status status = stub->GetPublicKey(&context, {}, &key);
  if (server_cert != nullptr && status.ok()) {
    auto values = context.auth_context()->FindPropertyValues("x509_pem_cert");
    if (!values.empty()) *server_cert = std::string(values[0].data(), values[0].size());
  }
  return status;
}

TEST(TlsE2ETest, ARevokedCertificateIsRefused) {
  TempDir dir;
  const std::string certs = CopyCerts(dir.path());
  ASSERT_EQ(Shell("bash " + SourcePath("deploy/revoke-dev-cert.sh") + " " + certs +
                " agency-csao " + dir.path() + "/crl"),
            0);
  BrokerProcess broker(dir.path() + "/data", "",
                       {"--tls-dir", certs, "--crl-dir", dir.path() + "/crl"});
  ASSERT_TRUE(broker.running());
  EXPECT_TRUE(AskForTheKey(broker, "agency-hartford-pd").ok());
  const grpc::Status revoked = AskForTheKey(broker, "agency-csao");
  EXPECT_EQ(revoked.error_code(), grpc::StatusCode::UNAVAILABLE) << revoked.error_message();
}

TEST(TlsE2ETest, ARotatedServerCertificateIsServedWithoutARestart) {
  TempDir dir;
  const std::string certs = CopyCerts(dir.path());
  const std::string config = dir.path() + "/fast-refresh.yaml";
  std::ofstream(config) << ReadText(SourcePath("deploy/config/connecticut.yaml"))
                        << "\nserver:\n  certificate_refresh_interval: \"1s\"\n";
  BrokerProcess broker(dir.path() + "/data", config, {"--tls-dir", certs});
  ASSERT_TRUE(broker.running());
  std::string before;
  ASSERT_TRUE(AskForTheKey(broker, "supervisor", &before).ok());
  ASSERT_FALSE(before.empty());

  // A new broker certificate from the same CA, swapped in atomically.
  const std::string fresh = dir.path() + "/fresh";
  fs::create_directories(fresh);
  fs::copy_file(certs + "/ca.crt", fresh + "/ca.crt");
  fs::copy_file(certs + "/ca.key", fresh + "/ca.key");
  ASSERT_EQ(Shell("bash " + SourcePath("deploy/make-dev-certs.sh") + " " + fresh), 0);
  fs::rename(fresh + "/broker.key", certs + "/broker.key");
  fs::rename(fresh + "/broker.crt", certs + "/broker.crt");
  const std::string expected = ReadText(certs + "/broker.crt");
  ASSERT_NE(expected, before);

  std::string after;
  EXPECT_TRUE(WaitFor(
      [&] {
        after.clear();
        return AskForTheKey(broker, "supervisor", &after).ok() && after == expected;
      },
      std::chrono::seconds(15)));
  EXPECT_EQ(after, expected);
}

}  // namespace
}  // namespace hart::testing
