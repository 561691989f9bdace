#include "tests/bench/echo_server.h"

#include <chrono>

#include "echo.grpc.pb.h"

namespace hart::bench {

class EchoServer::Service final : public v1::Echo::CallbackService {
 public:
  grpc::ServerUnaryReactor* Call(grpc::CallbackServerContext* context,
                                 const v1::EchoRequest* request,
                                 v1::EchoReply* reply) override {
    reply->set_payload(request->payload());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

EchoServer::EchoServer() : service_(std::make_unique<Service>()) {}

EchoServer::~EchoServer() { Stop(); }

absl::StatusOr<std::unique_ptr<EchoServer>> EchoServer::Start(
    std::shared_ptr<grpc::ServerCredentials> credentials) {
  std::unique_ptr<EchoServer> server(new EchoServer());
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", std::move(credentials), &server->port_);
  builder.RegisterService(server->service_.get());
  server->server_ = builder.BuildAndStart();
  if (!server->server_ || server->port_ == 0) {
    return absl::UnavailableError("cannot start the echo server on 127.0.0.1:0");
  }
  return server;
}

void EchoServer::Stop() {
  if (!server_) return;
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server_.reset();
}

}  // namespace hart::bench
