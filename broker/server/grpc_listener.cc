#include "broker/server/grpc_listener.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "broker/common/listen_address.h"
#include "broker/common/logging.h"
#include "broker/common/time_util.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace hart {

absl::StatusOr<GrpcListener> StartGrpcListener(const hart::config::v1::ServerOptions& limits,
                                               GrpcListenerOptions options) {
  // The TLS files are watched: a rotated certificate or CA is picked up
  // without a restart. Client certificates are required and verified.
  for (const char* file : {"/ca.crt", "/broker.crt", "/broker.key"}) {
    if (!std::filesystem::exists(options.tls_dir + file)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot read ", options.tls_dir, file,
          "; make development certificates with deploy/make-dev-certs.sh"));
    }
  }
  const int64_t refresh_seconds = std::max<int64_t>(
      1, absl::ToInt64Seconds(FromProtoDuration(limits.certificate_refresh_interval())));
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      options.tls_dir + "/broker.key", options.tls_dir + "/broker.crt",
      options.tls_dir + "/ca.crt", static_cast<unsigned int>(refresh_seconds));
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_root_certs();
  tls.watch_identity_key_cert_pairs();
  tls.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  const std::string crl_dir = options.crl_dir.empty() ? limits.crl_directory() : options.crl_dir;
  if (!crl_dir.empty()) {
    if (!std::filesystem::is_directory(crl_dir)) {
      return absl::FailedPreconditionError(absl::StrCat("CRL directory ", crl_dir, " does not exist"));
    }
    tls.set_crl_directory(crl_dir);
  }
  auto credentials = grpc::experimental::TlsServerCredentials(tls);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  const std::string address = options.address.empty() ? limits.listen_address() : options.address;
  // gRPC takes a port past 65535 modulo 2^16, and a name as it resolves.
  if (auto parsed = ParseListenAddress(address); !parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address ", parsed.status().message()));
  }
  GrpcListener listener;
  builder.AddListeningPort(address, credentials, &listener.port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(limits.max_receive_message_bytes()));
  builder.SetMaxSendMessageSize(static_cast<int>(limits.max_send_message_bytes()));
  // Limits against abusive peers (Debian's gRPC 1.51 has known HTTP/2
  // denial-of-service issues: nothing here may be unbounded).
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             static_cast<int>(limits.max_concurrent_streams()));
  builder.AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE,
                             static_cast<int>(limits.max_metadata_bytes()));
  builder.AddChannelArgument(
      GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
      static_cast<int>(absl::ToInt64Milliseconds(FromProtoDuration(limits.handshake_timeout()))));
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
      static_cast<int>(absl::ToInt64Milliseconds(FromProtoDuration(limits.min_ping_interval()))));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES,
                             static_cast<int>(limits.max_ping_strikes()));
  for (grpc::Service* service : options.services) builder.RegisterService(service);
  builder.experimental().SetInterceptorCreators(std::move(options.interceptors));
  listener.server = builder.BuildAndStart();
  if (!listener.server || listener.port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", address));
  }
  Logger("server")->info("event=listening address={} port={}", address, listener.port);
  return listener;
}

}  // namespace hart
