// How hartctl prints: --json (protobuf JSON documents) or text, RPC errors
// with their google.rpc.BadRequest field violations, and local errors.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/support/status.h"

namespace hart::cli {

// True when --json asks for machine-readable output.
bool JsonMode();

// The protobuf JSON of `message`: pretty-printed, or on one line if `one_line`.
std::string ToJson(const google::protobuf::Message& message, bool one_line);

// Prints `message` to stdout as one JSON document.
void PrintJson(const google::protobuf::Message& message);

// "INVALID_ARGUMENT", "PERMISSION_DENIED", ...
std::string CodeName(grpc::StatusCode code);

// Reports a failed RPC and returns kExitRpcFailed. Text: "error: CODE: message"
// and one "  field: description" line per field violation, on stderr.
// --json: {"code", "message", "fieldViolations"} on one line on stdout.
int ReportRpcError(const grpc::Status& status);

// Reports a usage or local input error on stderr and returns kExitUsage.
int ReportLocalError(const std::string& message);
int ReportLocalError(const absl::Status& status);

// RFC 3339 in UTC, or "-" when the timestamp is unset.
std::string FormatTime(const google::protobuf::Timestamp& ts, bool is_set);

// "a,b,c", or "-" when empty.
std::string JoinComma(const google::protobuf::RepeatedPtrField<std::string>& items);

}  // namespace hart::cli
