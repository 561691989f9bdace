#include "adapters/ncmec/answer_mapping.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "adapters/ncmec/ncmec_responses.h"

namespace hart::adapters::ncmec {
namespace {

// The responseCode a 400 carries, if its body says.
std::string CodeSuffix(const http::HttpResponse& response) {
  for (absl::string_view root : {"reportResponse", "reportDoneResponse", "reportsResponse"}) {
    auto parsed = ParseApiResponse(response.body, root);
    if (parsed.ok()) return absl::StrCat(", responseCode ", parsed->response_code);
  }
  return "";
}

}  // namespace

CallFailure ExchangeFailure(const CallInfo& info, const absl::Status& status) {
  return {absl::Status(status.code(), absl::StrCat("NCMEC ", info.call, " for delivery ",
                                                   info.delivery_id, ": ", status.message())),
          std::nullopt};
}

CallFailure HttpStatusFailure(const CallInfo& info, const http::HttpResponse& response,
                              absl::Time now) {
  const int code = response.status;
  const std::string what =
      absl::StrCat("HTTP ", code, " to ", info.call, " for delivery ", info.delivery_id);
  if (code == 401 || code == 403) {
    return {absl::FailedPreconditionError(absl::StrCat(
                "NCMEC refused the credentials in ", info.credentials_file, "; fix them (", what,
                ")")),
            std::nullopt};
  }
  if (code == 400) {
    return {absl::InvalidArgumentError(absl::StrCat("NCMEC refused the request as invalid (",
                                                    what, CodeSuffix(response), ")")),
            std::nullopt};
  }
  if (code == 408) {
    return {absl::DeadlineExceededError(absl::StrCat("NCMEC timed out the request (", what, ")")),
            std::nullopt};
  }
  if (code == 429) {
    return {absl::ResourceExhaustedError(absl::StrCat("NCMEC asks to slow down (", what, ")")),
            http::ParseRetryAfter(response, now)};
  }
  if (code >= 500 && code <= 599) {
    return {absl::UnavailableError(absl::StrCat("NCMEC is failing (", what, ")")),
            http::ParseRetryAfter(response, now)};
  }
  return {absl::FailedPreconditionError(absl::StrCat(
              "NCMEC answered ", what, "; check the adapter's base_url")),
          std::nullopt};
}

CallFailure ResponseCodeFailure(const CallInfo& info, int response_code) {
  const std::string what = absl::StrCat("responseCode ", response_code, " to ", info.call,
                                        " for delivery ", info.delivery_id);
  if (response_code == kResponseServerError) {
    return {absl::UnavailableError(absl::StrCat("NCMEC reported a server error (", what, ")")),
            std::nullopt};
  }
  return {absl::InvalidArgumentError(absl::StrCat("NCMEC refused the request (", what, ")")),
          std::nullopt};
}

CallFailure UnreadableAnswer(const CallInfo& info, const absl::Status& parse_error) {
  return {absl::UnavailableError(absl::StrCat("NCMEC's answer to ", info.call, " for delivery ",
                                              info.delivery_id, " was not understood: ",
                                              parse_error.message())),
          std::nullopt};
}

}  // namespace hart::adapters::ncmec
