// The broker's gRPC server: mutual TLS from the TLS directory (watched, so
// rotated files are picked up), the limits of server.* against abusive
// peers, health and reflection, and the given services.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/server_interceptor.h"
#include "hart/config/v1/broker_config.pb.h"

namespace hart {

struct GrpcListenerOptions {
  // Holds ca.crt (the client trust root), broker.crt and broker.key.
  std::string tls_dir;
  std::string crl_dir;  // empty: server.crl_directory
  std::string address;  // empty: server.listen_address
  std::vector<grpc::Service*> services;
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
};

struct GrpcListener {
  std::unique_ptr<grpc::Server> server;
  int port = 0;
};

// Builds and starts the server; FAILED_PRECONDITION names a missing TLS file
// or CRL directory, UNAVAILABLE the address it cannot listen on.
absl::StatusOr<GrpcListener> StartGrpcListener(const hart::config::v1::ServerOptions& server,
                                               GrpcListenerOptions options);

}  // namespace hart
