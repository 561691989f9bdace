// Protobuf JSON parsed strictly: an unknown field is an error, not ignored.
// Every place that takes JSON from outside (intake files, adapter settings,
// the ack endpoint, fuzz targets) parses through here.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace hart {

// INVALID_ARGUMENT with protobuf's description of the first problem.
absl::Status ParseStrictJson(const std::string& json, google::protobuf::Message* message);

}  // namespace hart
