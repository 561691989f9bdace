#include "tests/e2e/in_process_broker.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "tests/e2e/broker_process.h"

namespace hart::testing {

absl::StatusOr<std::unique_ptr<BrokerServer>> StartInProcessBroker(
    const std::string& dir, const std::function<void(BrokerServerOptions&)>& adjust) {
  const std::string key_dir = dir + "/keys";
  const std::string make_secrets = absl::StrCat(
      "bash ", SourcePath("deploy/make-dev-secrets.sh"), " ", key_dir, " >/dev/null 2>&1");
  if (std::system(make_secrets.c_str()) != 0) {
    return absl::InternalError("deploy/make-dev-secrets.sh failed");
  }
  BrokerServerOptions options;
  options.config = ConnecticutConfig();
  options.data_dir = dir + "/data";
  options.tls_dir = DevCertsDir();
  options.listen_address = "127.0.0.1:0";
  options.ops_listen_address = "off";
  options.key_dir = key_dir;
  if (adjust) adjust(options);
  return BrokerServer::Start(std::move(options));
}

std::shared_ptr<grpc::Channel> InProcessChannel(int port, const std::string& cert_name) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadText(DevCertsDir() + "/ca.crt");
  ssl.pem_private_key = ReadText(DevCertsDir() + "/" + cert_name + ".key");
  ssl.pem_cert_chain = ReadText(DevCertsDir() + "/" + cert_name + ".crt");
  grpc::ChannelArguments args;
  args.SetString("hart.test.identity", cert_name);
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port), grpc::SslCredentials(ssl),
                                   args);
}

}  // namespace hart::testing
