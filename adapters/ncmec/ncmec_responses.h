// NCMEC's answers, as the ncmec adapter reads them:
//  - /status and /submit: <reportResponse><responseCode>0</responseCode>
//    <responseDescription>…</responseDescription><reportId>N</reportId>
//    </reportResponse>
//  - /finish: <reportDoneResponse><responseCode>0</responseCode>
//    <reportId>N</reportId>…</reportDoneResponse>
//  - /reports?reporterReference=… (the broker's model of a lookup, see
//    README.md): <reportsResponse><report><reportId>N</reportId>
//    <status>open|finished</status></report>…</reportsResponse>
// and the transport_ref ("ncmec:<reportId>") that remembers a report id
// between attempts.
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hart::adapters::ncmec {

// responseCode values the adapter tells apart; any other non-zero code
// means NCMEC refused the request as invalid.
inline constexpr int kResponseSuccess = 0;
inline constexpr int kResponseServerError = 1000;

struct ApiResponse {
  int response_code = -1;
  // Empty when the response names no report (e.g. /status).
  std::string report_id;
};

// Parses a <`root`> response. INVALID_ARGUMENT if the body is not one or
// its responseCode / reportId is malformed (the message names the element).
absl::StatusOr<ApiResponse> ParseApiResponse(absl::string_view body, absl::string_view root);

struct KnownReport {
  std::string report_id;
  bool finished = false;
};

// Parses a <reportsResponse>; no <report> element means no report.
absl::StatusOr<std::vector<KnownReport>> ParseReportsLookup(absl::string_view body);

// "ncmec:<reportId>" and back; nullopt for any other transport_ref.
std::string ReportRef(absl::string_view report_id);
std::optional<std::string> ReportIdFromRef(absl::string_view transport_ref);

}  // namespace hart::adapters::ncmec
