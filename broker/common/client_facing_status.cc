#include "broker/common/client_facing_status.h"

#include <optional>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "broker/common/crypto_random.h"
#include "broker/common/logging.h"
#include "broker/store_errors.h"

namespace hart {
namespace {

// Payload type URL of WrittenForClient's mark.
constexpr char kWrittenForClientTypeUrl[] = "type.hart.internal/written-for-client";

const std::shared_ptr<spdlog::logger>& Log() {
  static const auto log = Logger("api");
  return log;
}

// Codes whose messages are our own and written for the client.
bool PassesThrough(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kUnimplemented:
    case absl::StatusCode::kUnauthenticated:
      return true;
    default:
      return false;
  }
}

// The code a client gets for a redacted status: failures collapse to
// INTERNAL, except the ones whose advice the client needs: UNAVAILABLE
// (retry), and DATA_LOSS (this record is damaged at rest: retrying will not
// help, and other records are unaffected).
absl::StatusCode RedactedCode(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
      return absl::StatusCode::kInternal;
    default:
      return code;
  }
}

std::string FixedMessage(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInternal:
      return "internal error";
    case absl::StatusCode::kUnavailable:
      return "the broker is temporarily unavailable; retry later";
    case absl::StatusCode::kDataLoss:
      return "stored data this request needs is damaged and cannot be read; give the "
             "reference to the broker's operator";
    case absl::StatusCode::kResourceExhausted:
      return "the broker's storage is full; retry later";
    case absl::StatusCode::kAlreadyExists:
      return "this record already exists";
    default:
      return "the request could not be completed";
  }
}

// Random, so it says nothing about the message and two never collide in
// practice (48 bits).
std::string NewReference() { return absl::BytesToHexString(CryptoRandom().Bytes(6)); }

// `text` fit for a JSON-lines log message ("event=... key='...'"): quotes and
// backslashes become ' and /, control characters spaces.
std::string ForLog(absl::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '"') c = '\'';
    if (c == '\\') c = '/';
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    out += c;
  }
  out += '\'';
  return out;
}

absl::Status Redact(const absl::Status& status, const std::optional<std::string>& backend) {
  const absl::StatusCode client_code = RedactedCode(status.code());
  const std::string reference = NewReference();
  const bool failure = client_code == absl::StatusCode::kInternal ||
                       client_code == absl::StatusCode::kDataLoss;
  Log()->log(failure ? spdlog::level::err : spdlog::level::warn,
             "event=error_redacted reference={} code={} client_code={} backend={} message={}",
             reference, absl::StatusCodeToString(status.code()),
             absl::StatusCodeToString(client_code), backend.value_or("none"),
             ForLog(status.message()));
  return absl::Status(client_code,
                      absl::StrCat(FixedMessage(client_code), "; reference ", reference));
}

}  // namespace

absl::Status ClientFacingStatus(const absl::Status& status) {
  if (status.ok()) return status;
  const std::optional<std::string> backend = BackendOf(status);
  const bool ours = PassesThrough(status.code()) ||
                    status.GetPayload(kWrittenForClientTypeUrl).has_value();
  if (ours && !backend) return status;
  return Redact(status, backend);
}

absl::Status WrittenForClient(absl::Status status) {
  if (!status.ok()) status.SetPayload(kWrittenForClientTypeUrl, absl::Cord());
  return status;
}

bool IsWrittenForClient(const absl::Status& status) {
  return status.GetPayload(kWrittenForClientTypeUrl).has_value();
}

}  // namespace hart
