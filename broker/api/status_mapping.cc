#include "broker/api/status_mapping.h"

#include "broker/common/field_violations.h"
#include "google/rpc/status.pb.h"

namespace hart {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const absl::Status client = ClientFacingStatus(status);
  // absl and gRPC share the canonical code numbering.
  const auto code = static_cast<grpc::StatusCode>(client.code());
  const std::string message(client.message());
  if (auto bad_request = BadRequestOf(client)) {
    google::rpc::Status details;
    details.set_code(static_cast<int>(code));
    details.set_message(message);
    details.add_details()->PackFrom(*bad_request);
    return grpc::Status(code, message, details.SerializeAsString());
  }
  return grpc::Status(code, message);
}

}  // namespace hart
