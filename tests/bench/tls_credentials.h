// mTLS credentials from a dev-certificate directory (deploy/make-dev-certs.sh):
// ca.crt, and NAME.crt / NAME.key per identity.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace hart::bench {

// Client credentials presenting `name`.crt/.key and trusting ca.crt.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ClientCredentials(
    const std::string& certs_dir, const std::string& name);

// Server credentials as the broker uses them: broker.crt/.key, client
// certificates required and verified against ca.crt.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> BrokerServerCredentials(
    const std::string& certs_dir);

// A channel of its own (own subchannel, own TCP+TLS connection) to `target`:
// `identity` and `index` only make it distinct from every other channel.
std::shared_ptr<grpc::Channel> DistinctChannel(
    const std::string& target, const std::shared_ptr<grpc::ChannelCredentials>& credentials,
    const std::string& identity, int index);

// Waits until every channel is READY (connecting them in parallel); an
// error naming the first that is not by `deadline`.
absl::Status WaitForConnected(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                              std::chrono::system_clock::time_point deadline,
                              const std::string& what);

}  // namespace hart::bench
