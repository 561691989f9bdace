// What AcknowledgeBatch and AcknowledgeStream share: a batch's size check,
// its acknowledgements as the recorder takes them, and its outcomes as the
// partner reads them.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker/acks/ack_recorder.h"
#include "broker/api/identity.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "hart/referral/v1/feed.pb.h"

namespace hart::feed {

// The most acknowledgements one batch may carry.
inline constexpr int kMaxAcksPerBatch = 1000;

using AckRequests = google::protobuf::RepeatedPtrField<v1::AcknowledgeRequest>;
using AckResults = google::protobuf::RepeatedPtrField<v1::AcknowledgeResult>;

// INVALID_ARGUMENT for an empty batch or one over kMaxAcksPerBatch.
absl::Status CheckBatchSize(int count);

// The batch's acks, by `identity` for its own agency.
std::vector<AckRequest> ToAckRequests(const Identity& identity, const AckRequests& acks);

// One result per ack into `results`, in order; returns the delivery ids
// refused as another agency's (PERMISSION_DENIED), to be audited.
std::vector<std::string> AddAckResults(const AckRequests& acks,
                                       std::span<const absl::StatusOr<AckOutcome>> outcomes,
                                       AckResults* results);

// When the refusals AddAckResults returned could not be audited: each
// PERMISSION_DENIED result becomes UNAVAILABLE, and so does each NOT_FOUND
// (unaudited, a denial must not tell a prober that the delivery exists);
// the partner retries them.
void MarkDenialsUnrecorded(AckResults* results);

}  // namespace hart::feed
