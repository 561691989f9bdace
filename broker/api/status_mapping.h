// The one place internal statuses become gRPC statuses: same code and
// message; a BadRequest payload becomes google.rpc.Status details (the
// grpc-status-details-bin trailer).
#pragma once

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace hart {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace hart
