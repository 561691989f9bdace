#include "tests/support/cdp_page_events.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace hart::testing::cdp {
namespace {

// A console argument (a Runtime.RemoteObject) as text.
std::string ArgumentText(const JsonValue& argument) {
  if (!argument.has_struct_value()) return ToJson(argument);
  const JsonObject& object = argument.struct_value();
  const JsonValue& value = Get(object, "value");
  if (value.has_string_value()) return value.string_value();
  if (value.kind_case() != JsonValue::KIND_NOT_SET) return ToJson(value);
  const std::string description = GetString(object, "description");
  return description.empty() ? GetString(object, "type") : description;
}

}  // namespace

void PageEventLog::OnEvent(const CdpEvent& event) {
  const JsonObject& params = event.params;
  absl::MutexLock lock(&mu_);
  if (event.method == "Page.loadEventFired") {
    ++loads_;
  } else if (event.method == "Network.requestWillBeSent") {
    request_urls_[GetString(params, "requestId")] = GetString(params, "request.url");
  } else if (event.method == "Network.responseReceived") {
    OnResponse(params);
  } else if (event.method == "Network.loadingFailed") {
    if (Get(params, "canceled").bool_value()) return;
    failed_requests_.push_back(absl::StrCat(GetString(params, "errorText"), " ",
                                            request_urls_[GetString(params, "requestId")]));
  } else if (event.method == "Runtime.consoleAPICalled") {
    OnConsoleCall(params);
  } else if (event.method == "Runtime.exceptionThrown") {
    std::string what = GetString(params, "exceptionDetails.exception.description");
    if (what.empty()) what = GetString(params, "exceptionDetails.text");
    console_errors_.push_back(absl::StrCat("uncaught ", what));
  } else if (event.method == "Log.entryAdded") {
    if (GetString(params, "entry.level") != "error") return;
    console_errors_.push_back(
        absl::StrCat(GetString(params, "entry.text"), " (", GetString(params, "entry.url"), ")"));
  }
}

void PageEventLog::OnResponse(const JsonObject& params) {
  const int status = static_cast<int>(GetNumber(params, "response.status"));
  if (GetString(params, "type") == "Document") {
    document_status_[GetString(params, "loaderId")] = status;
  }
  if (status >= 400) {
    failed_requests_.push_back(absl::StrCat("HTTP ", status, " ", GetString(params, "response.url")));
  }
}

void PageEventLog::OnConsoleCall(const JsonObject& params) {
  const std::string type = GetString(params, "type");
  if (type != "error" && type != "assert") return;
  std::vector<std::string> parts;
  const JsonValue& args = Get(params, "args");
  for (const JsonValue& argument : args.list_value().values()) {
    parts.push_back(ArgumentText(argument));
  }
  console_errors_.push_back(absl::StrCat("console.", type, ": ", absl::StrJoin(parts, " ")));
}

int PageEventLog::loads() const {
  absl::MutexLock lock(&mu_);
  return loads_;
}

bool PageEventLog::AwaitLoadAfter(int loads_before, absl::Duration bound) const {
  absl::MutexLock lock(&mu_);
  auto loaded = [this, loads_before]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return loads_ > loads_before;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&loaded), bound);
}

int PageEventLog::DocumentStatus(const std::string& loader_id) const {
  absl::MutexLock lock(&mu_);
  const auto found = document_status_.find(loader_id);
  return found == document_status_.end() ? 0 : found->second;
}

std::vector<std::string> PageEventLog::ConsoleErrors() const {
  absl::MutexLock lock(&mu_);
  return console_errors_;
}

std::vector<std::string> PageEventLog::FailedRequests() const {
  absl::MutexLock lock(&mu_);
  return failed_requests_;
}

}  // namespace hart::testing::cdp
