#include "absl/status/status.h"
#include "broker/cli/cli_output.h"

#include <cstdio>
#include <iostream>
#include <optional>
#include <set>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "broker/cli/cli_commands.h"
#include "broker/common/time_util.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

ABSL_FLAG(bool, json, false, "Machine-readable output: the protobuf JSON of the response.");

namespace hart::cli {
namespace {

// The BadRequest packed in the status's error details, if any.
std::optional<google::rpc::BadRequest> BadRequestOf(const grpc::Status& status) {
  if (status.error_details().empty()) return std::nullopt;
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return std::nullopt;
  for (const auto& any : details.details()) {
    google::rpc::BadRequest bad_request;
    if (any.Is<google::rpc::BadRequest>() && any.UnpackTo(&bad_request)) {
      return bad_request;
    }
  }
  return std::nullopt;
}

// A JSON string literal: quotes, backslashes and control characters escaped.
std::string JsonQuote(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += "\"";
  return out;
}

std::string ViolationLine(const google::rpc::BadRequest::FieldViolation& v) {
  return absl::StrCat("  ", v.field(), ": ", v.description());
}

// The message without lines that repeat a field violation verbatim (the
// broker also lists them in the message), so text output shows each once.
std::string MessageWithoutViolations(const std::string& message,
                                     const google::rpc::BadRequest& bad_request) {
  std::set<std::string> violation_lines;
  for (const auto& v : bad_request.field_violations()) {
    violation_lines.insert(ViolationLine(v));
  }
  std::vector<std::string> kept;
  for (const auto line : absl::StrSplit(message, '\n')) {
    std::string text(line);
    if (violation_lines.count(text) == 0) kept.push_back(std::move(text));
  }
  return absl::StrJoin(kept, "\n");
}

}  // namespace

bool JsonMode() { return absl::GetFlag(FLAGS_json); }

std::string ToJson(const google::protobuf::Message& message, bool one_line) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = !one_line;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(message, &out, options).ok()) {
    return "{}";
  }
  // add_whitespace ends the document with a newline; one_line has none.
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

void PrintJson(const google::protobuf::Message& message) {
  std::cout << ToJson(message, /*one_line=*/false) << std::endl;
}

std::string CodeName(grpc::StatusCode code) {
  // gRPC and absl share the canonical code numbering.
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

int ReportRpcError(const grpc::Status& status) {
  const std::string code = CodeName(status.error_code());
  const std::optional<google::rpc::BadRequest> bad_request = BadRequestOf(status);
  if (JsonMode()) {
    std::vector<std::string> violations;
    if (bad_request) {
      for (const auto& v : bad_request->field_violations()) {
        violations.push_back(absl::StrCat("{\"field\":", JsonQuote(v.field()),
                                          ",\"description\":", JsonQuote(v.description()),
                                          "}"));
      }
    }
    std::cout << "{\"code\":" << JsonQuote(code)
              << ",\"message\":" << JsonQuote(status.error_message())
              << ",\"fieldViolations\":[" << absl::StrJoin(violations, ",") << "]}"
              << std::endl;
    return kExitRpcFailed;
  }
  std::string message = status.error_message();
  if (bad_request) message = MessageWithoutViolations(message, *bad_request);
  std::cerr << "error: " << code << ": " << message << "\n";
  if (bad_request) {
    for (const auto& v : bad_request->field_violations()) {
      std::cerr << ViolationLine(v) << "\n";
    }
  }
  std::cerr.flush();
  return kExitRpcFailed;
}

int ReportLocalError(const std::string& message) {
  std::cerr << "error: " << message << std::endl;
  return kExitUsage;
}

int ReportLocalError(const absl::Status& status) {
  return ReportLocalError(std::string(status.message()));
}

std::string FormatTime(const google::protobuf::Timestamp& ts, bool is_set) {
  if (!is_set) return "-";
  return FormatRfc3339(FromProtoTime(ts));
}

std::string JoinComma(const google::protobuf::RepeatedPtrField<std::string>& items) {
  if (items.empty()) return "-";
  return absl::StrJoin(items, ",");
}

}  // namespace hart::cli
