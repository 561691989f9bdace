#include "broker/server/broker_server.h"

#include <memory>

#include "broker/server/broker_parts.h"

namespace hart {
namespace {

// The BrokerServer handed out: Shutdown destroys the parts, in their order.
class RunningBroker final : public BrokerServer {
 public:
  explicit RunningBroker(std::unique_ptr<BrokerParts> parts)
      : port_(parts->port()), ops_port_(parts->ops_port()), parts_(std::move(parts)) {}
  int port() const override { return port_; }
  int ops_port() const override { return ops_port_; }
  void Shutdown() override {
    if (!parts_) return;
    parts_->Drain();
    parts_.reset();
  }
  absl::Status ReloadKeys() override {
    if (!parts_) return absl::FailedPreconditionError("the broker is shut down");
    return parts_->ReloadKeys();
  }

 private:
  const int port_;
  const int ops_port_;
  std::unique_ptr<BrokerParts> parts_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<BrokerServer>> BrokerServer::Start(
    BrokerServerOptions options) {
  auto parts = std::make_unique<BrokerParts>(std::move(options));
  if (auto s = parts->Init(); !s.ok()) return s;
  return std::make_unique<RunningBroker>(std::move(parts));
}

}  // namespace hart
