// The ceiling: an in-process callback-API gRPC server answering
// hart.bench.v1.Echo/Call with the request's payload, on 127.0.0.1:0 with the
// broker's mTLS server credentials (client certificate required).
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace hart::bench {

class EchoServer {
 public:
  static absl::StatusOr<std::unique_ptr<EchoServer>> Start(
      std::shared_ptr<grpc::ServerCredentials> credentials);
  ~EchoServer();

  int port() const { return port_; }
  void Stop();

 private:
  class Service;
  EchoServer();

  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace hart::bench
