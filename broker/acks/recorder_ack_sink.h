// AckSink over the AckRecorder: acknowledgements arriving through a push
// adapter's own channel (a file drop's .ack files) are recorded exactly
// like FeedService.Acknowledge, group-committed and audited.
#pragma once

#include "broker/acks/ack_recorder.h"
#include "broker/delivery_content.h"

namespace hart {

class RecorderAckSink final : public AckSink {
 public:
  explicit RecorderAckSink(AckRecorder& recorder) : recorder_(recorder) {}

  void Acknowledge(const std::string& agency_id, const std::string& delivery_id,
                   v1::Acknowledgement::Kind kind, const std::string& note,
                   const std::string& actor, Done done) override;

 private:
  AckRecorder& recorder_;
};

}  // namespace hart
