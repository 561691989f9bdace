// How the ncmec adapter turns what NCMEC answered into a delivery outcome:
// which answers are worth a retry (UNAVAILABLE, DEADLINE_EXCEEDED,
// RESOURCE_EXHAUSTED) and which a retry can never fix (FAILED_PRECONDITION
// for refused credentials or a wrong URL, INVALID_ARGUMENT for a report NCMEC
// refuses). Messages name the call, the HTTP status or responseCode and the
// delivery id — never report content.
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "adapters/http/https_client.h"

namespace hart::adapters::ncmec {

struct CallFailure {
  absl::Status status;
  std::optional<absl::Duration> retry_after;
};

// What one call is, for messages: e.g. {"POST /submit", "dlv_…",
// "/etc/hart/ncmec.credentials"}.
struct CallInfo {
  std::string call;
  std::string delivery_id;
  std::string credentials_file;
};

// An exchange that got no HTTP answer (connect, TLS, timeout, bad URL): the
// client's code is kept, the message prefixed with the call.
CallFailure ExchangeFailure(const CallInfo& info, const absl::Status& status);

// An HTTP answer other than 200: 401/403 refused credentials, 400 invalid,
// 408 / 429 / 5xx retry (honouring Retry-After), anything else a wrong URL.
CallFailure HttpStatusFailure(const CallInfo& info, const http::HttpResponse& response,
                              absl::Time now);

// A 200 whose responseCode is not success: 1000 (NCMEC's server error) is
// retried; any other code means NCMEC refused the request.
CallFailure ResponseCodeFailure(const CallInfo& info, int response_code);

// A 200 whose body could not be read: retried (a later attempt checks what
// NCMEC holds before filing anything again).
CallFailure UnreadableAnswer(const CallInfo& info, const absl::Status& parse_error);

}  // namespace hart::adapters::ncmec
