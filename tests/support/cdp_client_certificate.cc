#include "tests/support/cdp_client_certificate.h"

#include <deque>
#include <map>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace hart::testing::cdp {

// Requests the tab paused, for the worker; `stopped` ends it.
struct ClientCertificateStandIn::Paused {
  absl::Mutex mu;
  std::deque<JsonObject> requests ABSL_GUARDED_BY(mu);
  bool stopped ABSL_GUARDED_BY(mu) = false;
};

ClientCertificateStandIn::ClientCertificateStandIn(int port, HttpsTestClientOptions tls)
    : port_(port), tls_(std::move(tls)), paused_(std::make_shared<Paused>()) {}

ClientCertificateStandIn::~ClientCertificateStandIn() {
  {
    absl::MutexLock lock(&paused_->mu);
    paused_->stopped = true;
  }
  if (worker_.joinable()) worker_.join();
}

std::function<void(const CdpEvent&)> ClientCertificateStandIn::EventSink() const {
  std::shared_ptr<Paused> paused = paused_;
  return [paused](const CdpEvent& event) {
    if (event.method != "Fetch.requestPaused") return;
    absl::MutexLock lock(&paused->mu);
    paused->requests.push_back(event.params);
  };
}

absl::Status ClientCertificateStandIn::Attach(CdpPage& page) {
  const std::string pattern = absl::StrCat("https://127.0.0.1:", port_, "/*");
  auto enabled = page.Call(
      "Fetch.enable",
      Object({{"patterns", JsonList({JsonOf(Object({{"urlPattern", JsonString(pattern)},
                                                   {"requestStage", JsonString("Request")}}))})}}));
  if (!enabled.ok()) return enabled.status();
  worker_ = std::thread([this, &page] { Serve(page); });
  return absl::OkStatus();
}

void ClientCertificateStandIn::Serve(CdpPage& page) {
  Paused& paused = *paused_;
  while (true) {
    JsonObject request;
    {
      absl::MutexLock lock(&paused.mu);
      auto ready = [&paused]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return paused.stopped || !paused.requests.empty();
      };
      paused.mu.Await(absl::Condition(&ready));  // the destructor's stop wakes it too
      if (paused.stopped) return;
      request = std::move(paused.requests.front());
      paused.requests.pop_front();
    }
    Answer(page, request);
  }
}

void ClientCertificateStandIn::Answer(CdpPage& page, const JsonObject& paused) {
  const std::string id = GetString(paused, "requestId");
  const std::string url = GetString(paused, "request.url");
  const std::string origin = absl::StrCat("https://127.0.0.1:", port_);
  const JsonValue& sent = Get(paused, "request.headers");
  std::map<std::string, std::string> headers;
  bool event_stream = false;
  if (sent.has_struct_value()) {
    for (const auto& [name, value] : sent.struct_value().fields()) {
      // What the client library writes itself is not copied.
      if (absl::EqualsIgnoreCase(name, "Host") || absl::EqualsIgnoreCase(name, "Content-Length")) {
        continue;
      }
      headers[name] = value.string_value();
      event_stream = event_stream || absl::StrContains(value.string_value(), "text/event-stream");
    }
  }
  absl::StatusOr<HttpsTestResponse> answer = absl::UnavailableError("not sent");
  if (!event_stream && absl::StartsWith(url, origin)) {
    auto client = HttpsTestClient::Connect(port_, tls_);
    if (client.ok()) {
      answer = (*client)->Send(GetString(paused, "request.method"), url.substr(origin.size()),
                               GetString(paused, "request.postData"), headers);
    } else {
      answer = client.status();
    }
  }
  if (!answer.ok()) {
    (void)page.Call("Fetch.failRequest", Object({{"requestId", JsonString(id)},
                                                  {"errorReason", JsonString("Failed")}}));
    return;
  }
  std::vector<JsonValue> response_headers;
  for (const auto& [name, value] : answer->headers) {
    response_headers.push_back(
        JsonOf(Object({{"name", JsonString(name)}, {"value", JsonString(value)}})));
  }
  (void)page.Call("Fetch.fulfillRequest",
                  Object({{"requestId", JsonString(id)},
                          {"responseCode", JsonNumber(answer->status)},
                          {"responseHeaders", JsonList(std::move(response_headers))},
                          {"body", JsonString(absl::Base64Escape(answer->body))}}));
}

}  // namespace hart::testing::cdp
