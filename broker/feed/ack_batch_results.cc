#include "broker/feed/ack_batch_results.h"

#include "absl/strings/str_cat.h"
#include "broker/api/status_mapping.h"

namespace hart::feed {

absl::Status CheckBatchSize(int count) {
  if (count > 0 && count <= kMaxAcksPerBatch) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("acks holds ", count,
                                                 " acknowledgements; send 1 to ",
                                                 kMaxAcksPerBatch, " per call or batch"));
}

std::vector<AckRequest> ToAckRequests(const Identity& identity, const AckRequests& acks) {
  std::vector<AckRequest> requests;
  requests.reserve(acks.size());
  for (const v1::AcknowledgeRequest& ack : acks) {
    requests.push_back(AckRequest{identity.id, ack.delivery_id(), ack.kind(), ack.note(),
                                  identity.ToString(), ""});
  }
  return requests;
}

std::vector<std::string> AddAckResults(const AckRequests& acks,
                                       std::span<const absl::StatusOr<AckOutcome>> outcomes,
                                       AckResults* results) {
  std::vector<std::string> denied;
  for (size_t i = 0; i < outcomes.size() && i < static_cast<size_t>(acks.size()); ++i) {
    const std::string& delivery_id = acks[static_cast<int>(i)].delivery_id();
    v1::AcknowledgeResult* result = results->Add();
    result->set_delivery_id(delivery_id);
    if (absl::IsPermissionDenied(outcomes[i].status())) denied.push_back(delivery_id);
    const grpc::Status status = ToGrpcStatus(outcomes[i].status());
    result->mutable_status()->set_code(status.error_code());
    result->mutable_status()->set_message(status.error_message());
    if (outcomes[i].ok()) {
      result->set_state(outcomes[i]->state);
      if (outcomes[i]->audit_index) result->set_audit_index(*outcomes[i]->audit_index);
    }
  }
  return denied;
}

void MarkDenialsUnrecorded(AckResults* results) {
  for (v1::AcknowledgeResult& result : *results) {
    const int code = result.status().code();
    if (code != grpc::StatusCode::PERMISSION_DENIED && code != grpc::StatusCode::NOT_FOUND) {
      continue;
    }
    result.mutable_status()->set_code(grpc::StatusCode::UNAVAILABLE);
    result.mutable_status()->set_message("the broker is too busy to answer this "
                                         "acknowledgement; retry it");
  }
}

}  // namespace hart::feed
