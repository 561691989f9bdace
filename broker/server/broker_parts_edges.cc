#include "broker/server/broker_parts.h"

#include "absl/strings/str_cat.h"
#include "broker/server/adapter_paths.h"
#include "broker/server/grpc_listener.h"

namespace hart {

absl::Status BrokerParts::StartPushSupport() {
  const auto& endpoint = options_.config.server().ack_endpoint();
  std::string key_file =
      endpoint.token_key_file().empty() ? "ack-token.key" : endpoint.token_key_file();
  if (key_file[0] != '/') key_file = options_.key_dir + "/" + key_file;
  auto tokens = AckTokens::LoadOrCreate(key_file, random_);
  if (!tokens.ok()) return tokens.status();
  ack_tokens_ = std::move(*tokens);
  if (!endpoint.listen_address().empty()) {
    AckEndpointSettings settings;
    settings.listen_address = endpoint.listen_address();
    settings.cert_file = options_.tls_dir + "/broker.crt";
    settings.key_file = options_.tls_dir + "/broker.key";
    auto started = AckHttpEndpoint::Start(settings, *ack_tokens_, *acks_, *store_,
                                          *store_executor_, clock_);
    if (!started.ok()) return started.status();
    ack_endpoint_ = std::move(*started);
  }
  // Without an endpoint, messages carry no token: acks come through
  // FeedService.Acknowledge (or the adapter's own channel).
  content_ = std::make_unique<StoredDeliveryContent>(
      *store_, *store_executor_, *views_, ack_endpoint_ ? ack_tokens_.get() : nullptr,
      AckUrl());
  ack_sink_ = std::make_unique<RecorderAckSink>(*acks_);
  scheduler_ = std::make_unique<ThreadScheduler>(clock_);
  return absl::OkStatus();
}

std::string BrokerParts::AckUrl() const {
  if (!ack_endpoint_) return "";
  const auto& endpoint = options_.config.server().ack_endpoint();
  if (!endpoint.public_url().empty()) return endpoint.public_url();
  return absl::StrCat("https://127.0.0.1:", ack_endpoint_->port(), "/v1/acks");
}

absl::StatusOr<Adapter*> BrokerParts::CreateAdapter(const hart::config::v1::Agency& agency) {
  const AdapterFactory* factory = registry_.Find(agency.adapter().type());
  if (factory == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "agency ", agency.id(), ": unknown adapter type '", agency.adapter().type(), "'"));
  }
  google::protobuf::Struct settings = agency.adapter().settings();
  if (auto s = ResolveAdapterPaths(settings, options_.key_dir, options_.data_dir); !s.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("agency ", agency.id(), ": ", s.message()));
  }
  const DeliveryGuardPolicy policy = DeliveryGuardPolicy::FromConfig(agency.adapter().limits());
  AdapterContext context{store_, &clock_, content_.get(), ack_sink_.get(),
                         policy.timeout};
  auto adapter = factory->Create(agency.id(), settings, context);
  if (!adapter.ok()) {
    return absl::Status(adapter.status().code(),
                        absl::StrCat("agency ", agency.id(), ": ", adapter.status().message()));
  }
  if (factory->feeds_from_store()) {
    adapters_.push_back(std::move(*adapter));
    return adapters_.back().get();
  }
  auto guard = std::make_unique<GuardedAdapter>(agency.id(), std::move(*adapter), policy,
                                                clock_, *scheduler_);
  health_board_.Add(*guard);
  adapters_.push_back(std::move(guard));
  return adapters_.back().get();
}

absl::Status BrokerParts::StartGrpc() {
  GrpcListenerOptions grpc;
  grpc.tls_dir = options_.tls_dir;
  grpc.crl_dir = options_.crl_dir;
  grpc.address = options_.listen_address;
  grpc.services = {intake_service_.get(), feed_service_.get(), supervisor_service_.get(),
                   audit_service_.get(), operator_service_.get()};
  grpc.interceptors.push_back(in_flight_.InterceptorFactory());
  auto listener = StartGrpcListener(options_.config.server(), std::move(grpc));
  if (!listener.ok()) return listener.status();
  server_ = std::move(listener->server);
  port_ = listener->port;
  // gRPC health says what /readyz says, for the server and each service.
  ops_->ReportTo(*server_->GetHealthCheckService(),
                 {v1::IntakeService::service_full_name(), v1::FeedService::service_full_name(),
                  v1::SupervisorService::service_full_name(),
                  v1::AuditService::service_full_name(),
                  v1::OperatorService::service_full_name()});
  return absl::OkStatus();
}

}  // namespace hart
