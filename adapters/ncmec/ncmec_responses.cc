#include "adapters/ncmec/ncmec_responses.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "adapters/ncmec/xml_text.h"

namespace hart::adapters::ncmec {
namespace {

constexpr absl::string_view kRefPrefix = "ncmec:";

bool IsReportId(absl::string_view id) {
  if (id.empty() || id.size() > 32) return false;
  for (char c : id) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<ApiResponse> ParseApiResponse(absl::string_view body, absl::string_view root) {
  const auto roots = ElementContents(body, root);
  if (roots.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("the answer is not a <", root, "> document"));
  }
  const absl::string_view doc = roots.front();
  ApiResponse response;
  const auto code = ElementText(doc, "responseCode");
  if (!code || !absl::SimpleAtoi(*code, &response.response_code)) {
    return absl::InvalidArgumentError(
        absl::StrCat("<", root, "> has no numeric <responseCode>"));
  }
  if (auto id = ElementText(doc, "reportId"); id && !id->empty()) {
    if (!IsReportId(*id)) {
      return absl::InvalidArgumentError(absl::StrCat("<", root, "> has a non-numeric <reportId>"));
    }
    response.report_id = *id;
  }
  return response;
}

absl::StatusOr<std::vector<KnownReport>> ParseReportsLookup(absl::string_view body) {
  const auto roots = ElementContents(body, "reportsResponse");
  if (roots.empty()) {
    return absl::InvalidArgumentError("the answer is not a <reportsResponse> document");
  }
  std::vector<KnownReport> reports;
  for (absl::string_view report : ElementContents(roots.front(), "report")) {
    KnownReport known;
    const auto id = ElementText(report, "reportId");
    if (!id || !IsReportId(*id)) {
      return absl::InvalidArgumentError("a <report> in <reportsResponse> lacks a numeric <reportId>");
    }
    known.report_id = *id;
    const auto status = ElementText(report, "status");
    if (!status || (*status != "open" && *status != "finished")) {
      return absl::InvalidArgumentError(
          "a <report> in <reportsResponse> has a <status> other than open or finished");
    }
    known.finished = *status == "finished";
    reports.push_back(std::move(known));
  }
  return reports;
}

std::string ReportRef(absl::string_view report_id) { return absl::StrCat(kRefPrefix, report_id); }

std::optional<std::string> ReportIdFromRef(absl::string_view transport_ref) {
  if (!absl::StartsWith(transport_ref, kRefPrefix)) return std::nullopt;
  const absl::string_view id = transport_ref.substr(kRefPrefix.size());
  if (!IsReportId(id)) return std::nullopt;
  return std::string(id);
}

}  // namespace hart::adapters::ncmec
