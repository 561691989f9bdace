#include "broker/ops/ops_server.h"

#include <pthread.h>

#include <thread>

#include "broker/common/logging.h"
#include "broker/ops/ops_session.h"

namespace hart::ops {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

auto Log() { return Logger("ops"); }

class Server final : public OpsServer {
 public:
  Server(OpsServerSettings settings, Router router)
      : core_(std::move(settings), std::move(router)), acceptor_(core_.io()) {}
  ~Server() override { Stop(); }

  absl::Status Listen() {
    if (auto s = ConfigureServerTls(core_.tls(), core_.settings().tls, "ops port"); !s.ok()) {
      return s;
    }
    auto port = ops::Listen(acceptor_, core_.settings().listen_address, "ops port");
    if (!port.ok()) return port.status();
    port_ = *port;
    Accept();
    thread_ = std::thread([this] { core_.io().run(); });
    pthread_setname_np(thread_.native_handle(), "hart-ops");
    Log()->info("event=listening port={}", port_);
    return absl::OkStatus();
  }

  int port() const override { return port_; }

  void Stop() override {
    if (stopped_) return;
    stopped_ = true;
    asio::post(core_.io(), [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      core_.StopSessions();
    });
    if (!core_.WaitUntilNoConnections(core_.settings().stop_timeout)) {
      Log()->warn("event=stop_timeout detail=connections_cut");
    }
    core_.lifeline()->End();  // from now on handles post nothing
    core_.io().stop();
    if (thread_.joinable()) thread_.join();
    core_.EndStreams();  // any whose connection never took it
  }

 private:
  void Accept() {
    internal::Strand strand = asio::make_strand(core_.io());
    acceptor_.async_accept(strand, [this, strand](boost::system::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      if (!ec) {
        if (core_.Admit()) {
          std::make_shared<internal::Session>(std::move(socket), strand, core_)->Start();
        } else {
          Log()->warn("event=connection_refused reason=max_connections");
        }
      }
      Accept();
    });
  }

  internal::ServerCore core_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  int port_ = 0;
  bool stopped_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<OpsServer>> OpsServer::Start(OpsServerSettings settings,
                                                            Router router) {
  auto server = std::make_unique<Server>(std::move(settings), std::move(router));
  if (auto s = server->Listen(); !s.ok()) return s;
  return std::unique_ptr<OpsServer>(std::move(server));
}

}  // namespace hart::ops
