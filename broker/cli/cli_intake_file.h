// Reads an intake JSON file (the protobuf JSON mapping of hart.referral.v1.Intake),
// strictly: unknown fields are errors.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "hart/referral/v1/intake.pb.h"

namespace hart::cli {

// Reads `path` into `message` (protobuf JSON, strict). INVALID_ARGUMENT
// naming the file, the expected message type and the parser's message.
absl::Status ReadJsonFile(const std::string& path, google::protobuf::Message* message);

// INVALID_ARGUMENT naming `path` and the parser's message if the file cannot
// be read or parsed.
absl::StatusOr<hart::referral::v1::Intake> ReadIntakeFile(const std::string& path);

}  // namespace hart::cli
