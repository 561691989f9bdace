// The real broker in-process (BrokerServer) over mTLS with the dev
// certificates, for end-to-end tests that wrap its store or tune its
// settings; and a client channel under a dev certificate's identity.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "broker/server/broker_server.h"
#include "grpcpp/grpcpp.h"

namespace hart::testing {

// Starts the broker on the Connecticut config with its data and keys
// under `dir`, on a free 127.0.0.1 port, the operations port off (tests
// run at once: no fixed port). `adjust` may change the options first
// (wrap_store, executor settings).
absl::StatusOr<std::unique_ptr<BrokerServer>> StartInProcessBroker(
    const std::string& dir, const std::function<void(BrokerServerOptions&)>& adjust = {});

// A channel to the broker on `port` as the dev certificate `cert_name`
// (one TLS identity per channel).
std::shared_ptr<grpc::Channel> InProcessChannel(int port, const std::string& cert_name);

}  // namespace hart::testing
