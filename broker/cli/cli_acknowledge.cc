#include "broker/cli/cli_acknowledge.h"

#include "broker/cli/cli_connection.h"

namespace hart::cli {

grpc::Status Acknowledge(hart::referral::v1::FeedService::Stub& stub,
                         const std::string& delivery_id,
                         hart::referral::v1::Acknowledgement::Kind kind,
                         const std::string& note,
                         hart::referral::v1::AcknowledgeResponse* response) {
  hart::referral::v1::AcknowledgeRequest request;
  request.set_delivery_id(delivery_id);
  request.set_kind(kind);
  request.set_note(note);
  grpc::ClientContext context;
  SetDeadline(context);
  return stub.Acknowledge(&context, request, response);
}

}  // namespace hart::cli
