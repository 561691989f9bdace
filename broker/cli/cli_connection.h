// The mTLS channel to the broker: --target, --certs_dir, --as, --agency and
// --timeout, and which certificate each subcommand presents by default.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"

namespace hart::cli {

// The certificate name (NAME.crt / NAME.key in --certs_dir) to present:
// --as if given, else "agency-<--agency>" (for feed and ack).
// INVALID_ARGUMENT naming the subcommand when neither flag is given.
absl::StatusOr<std::string> AgencyIdentity(const std::string& command);

// --as if given, else `default_name` (careline, supervisor).
std::string IdentityOr(const std::string& default_name);

// --certs_dir, else $HART_CERTS_DIR, else "var/certs".
std::string CertsDir();

// A channel to --target that trusts ca.crt and presents NAME.crt/NAME.key.
// NOT_FOUND naming the missing file (and how to create it) if one is absent.
absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const std::string& identity);

// Sets the --timeout deadline on a unary call's context.
void SetDeadline(grpc::ClientContext& context);

// Makes one unary call through `call` (given a fresh context with the
// --timeout deadline each time), and makes it again while the broker
// refuses it for the certificate's rate limit (RESOURCE_EXHAUSTED "rate
// limit: ..."): waits 20 ms, doubling to 1 s, for at most 60 s in all. For
// commands that make many calls in a row (audit verify pages through the
// whole log and proves every checkpoint consistent with the next).
grpc::Status CallPaced(const std::function<grpc::Status(grpc::ClientContext&)>& call);

// gRPC's own log lines (e.g. "Handshake failed ...") repeat what the RPC
// status already says; drop them unless GRPC_VERBOSITY is set. Assertion
// failures are still printed.
void QuietGrpcLogs();

// INVALID_ARGUMENT if --timeout is not positive.
absl::Status ValidateConnectionFlags();

}  // namespace hart::cli
