#include "broker/acks/recorder_ack_sink.h"

namespace hart {

void RecorderAckSink::Acknowledge(const std::string& agency_id, const std::string& delivery_id,
                                  v1::Acknowledgement::Kind kind, const std::string& note,
                                  const std::string& actor, Done done) {
  AckRequest request;
  request.agency_id = agency_id;
  request.delivery_id = delivery_id;
  request.kind = kind;
  request.note = note;
  request.actor = actor;
  recorder_.AcknowledgeAsync(std::move(request),
                             [done = std::move(done)](absl::StatusOr<AckOutcome> outcome) {
                               done(outcome.status());
                             });
}

}  // namespace hart
