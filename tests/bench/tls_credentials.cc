#include "tests/bench/tls_credentials.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace hart::bench {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    return absl::NotFoundError(absl::StrCat(
        path, " not found; hart-bench makes dev certificates itself unless --target is "
              "given, in which case --certs_dir must hold the certificates the running "
              "broker trusts"));
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in || ss.str().empty()) {
    return absl::PermissionDeniedError(absl::StrCat("cannot read ", path));
  }
  return ss.str();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ClientCredentials(
    const std::string& certs_dir, const std::string& name) {
  auto ca = ReadPem(certs_dir + "/ca.crt");
  if (!ca.ok()) return ca.status();
  auto cert = ReadPem(certs_dir + "/" + name + ".crt");
  if (!cert.ok()) return cert.status();
  auto key = ReadPem(certs_dir + "/" + name + ".key");
  if (!key.ok()) return key.status();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = std::move(*ca);
  ssl.pem_cert_chain = std::move(*cert);
  ssl.pem_private_key = std::move(*key);
  return grpc::SslCredentials(ssl);
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> BrokerServerCredentials(
    const std::string& certs_dir) {
  auto ca = ReadPem(certs_dir + "/ca.crt");
  if (!ca.ok()) return ca.status();
  auto cert = ReadPem(certs_dir + "/broker.crt");
  if (!cert.ok()) return cert.status();
  auto key = ReadPem(certs_dir + "/broker.key");
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions ssl(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_root_certs = std::move(*ca);
  ssl.pem_key_cert_pairs.push_back({std::move(*key), std::move(*cert)});
  return grpc::SslServerCredentials(ssl);
}

std::shared_ptr<grpc::Channel> DistinctChannel(
    const std::string& target, const std::shared_ptr<grpc::ChannelCredentials>& credentials,
    const std::string& identity, int index) {
  grpc::ChannelArguments args;
  // gRPC shares subchannels (connections) between channels with equal
  // arguments; identity is per TLS connection and one HTTP/2 connection is
  // served by one poller at a time, so every channel gets its own.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetString("hart.bench.channel", absl::StrCat(identity, "#", index));
  return grpc::CreateCustomChannel(target, credentials, args);
}

absl::Status WaitForConnected(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                              std::chrono::system_clock::time_point deadline,
                              const std::string& what) {
  for (const auto& channel : channels) channel->GetState(/*try_to_connect=*/true);
  for (size_t i = 0; i < channels.size(); ++i) {
    if (!channels[i]->WaitForConnected(deadline)) {
      return absl::UnavailableError(absl::StrCat(
          "cannot connect ", what, " channel ", i, " of ", channels.size(),
          " (state ", static_cast<int>(channels[i]->GetState(false)),
          "): is the target up, and does it trust these certificates?"));
    }
  }
  return absl::OkStatus();
}

}  // namespace hart::bench
