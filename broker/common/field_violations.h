// Validation failures travel inside absl::Status as a google.rpc.BadRequest
// payload; the gRPC edge turns the payload into error details (one place).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "google/rpc/error_details.pb.h"

namespace hart {

struct FieldViolation {
  std::string field;        // JSON path, e.g. "child.town"
  std::string description;  // what is wrong and how to fix it; no PII
};

inline constexpr char kBadRequestTypeUrl[] =
    "type.googleapis.com/google.rpc.BadRequest";

// INVALID_ARGUMENT carrying every violation; the message summarises them.
absl::Status InvalidArgumentWithViolations(
    const std::string& summary, const std::vector<FieldViolation>& violations);

// The violations carried by `status`, if any.
std::optional<google::rpc::BadRequest> BadRequestOf(const absl::Status& status);

}  // namespace hart
