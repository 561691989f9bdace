// One FeedService.Acknowledge call with the --timeout deadline, shared by
// `ack` and `feed --ack`.
#pragma once

#include <string>

#include "grpcpp/support/status.h"
#include "hart/referral/v1/feed.grpc.pb.h"

namespace hart::cli {

grpc::Status Acknowledge(hart::referral::v1::FeedService::Stub& stub,
                         const std::string& delivery_id,
                         hart::referral::v1::Acknowledgement::Kind kind,
                         const std::string& note,
                         hart::referral::v1::AcknowledgeResponse* response);

}  // namespace hart::cli
