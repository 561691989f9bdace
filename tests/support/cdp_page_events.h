// What a page reports through DevTools events, kept for CdpPage: its load
// events, the HTTP status of each document, and the problems a test asserts
// did not happen: console errors, uncaught exceptions, failed requests.
//
// Thread safety: OnEvent() runs on the connection's thread, the rest on
// any thread.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tests/support/cdp_connection.h"

namespace hart::testing::cdp {

class PageEventLog {
 public:
  // Needs the Page, Network, Runtime and Log domains enabled.
  void OnEvent(const CdpEvent& event);

  int loads() const;
  // Waits (bounded) until more than `loads_before` load events arrived.
  bool AwaitLoadAfter(int loads_before, absl::Duration bound) const;
  // The HTTP status of the document that `loader_id` loaded; 0 if it came
  // without one (about:blank, data: URLs).
  int DocumentStatus(const std::string& loader_id) const;

  // console.error() and console.assert() messages, uncaught exceptions and
  // the browser's own error messages (a resource that failed to load, a
  // blocked request), in arrival order.
  std::vector<std::string> ConsoleErrors() const;
  // Requests that failed (refused, TLS, aborted by the server) or were
  // answered with a status of 400 or more, as "<why> <url>". Requests the
  // page cancelled itself (e.g. by leaving) are not failures. Chromium asks
  // for /favicon.ico unless the page names an icon: a 404 there counts.
  std::vector<std::string> FailedRequests() const;

 private:
  void OnResponse(const JsonObject& params) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnConsoleCall(const JsonObject& params) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  int loads_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, int> document_status_ ABSL_GUARDED_BY(mu_);      // by loader id
  std::map<std::string, std::string> request_urls_ ABSL_GUARDED_BY(mu_);  // by request id
  std::vector<std::string> console_errors_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> failed_requests_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hart::testing::cdp
