// The one place internal statuses become a grpc::Status: the client-facing
// form (broker/common/client_facing_status.h says what passes through and
// what is redacted with a logged reference) with INVALID_ARGUMENT's
// BadRequest field violations as google.rpc.Status details.
//
// Thread safety: safe to call from any thread.
#pragma once

#include "absl/status/status.h"
#include "broker/common/client_facing_status.h"
#include "grpcpp/support/status.h"

namespace hart {

// ClientFacingStatus as a grpc::Status; a BadRequest payload becomes
// google.rpc.Status details.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace hart
