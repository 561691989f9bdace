// One browser tab in a HeadlessChromium, driven the way a person would use
// it, for tests: load a page, read it with JavaScript, click, type, press
// keys, take screenshots, handle cookies, and report what went wrong in it
// (console errors, failed requests).
//
// Every call is synchronous and bounded: a command that gets no answer, a
// page that never loads, a condition that never holds each end in an error
// saying what was awaited. Errors: UNAVAILABLE when the browser is gone or
// a navigation failed (with the browser's reason, e.g.
// net::ERR_CERT_AUTHORITY_INVALID), UNKNOWN when the page's script threw,
// NOT_FOUND when no element matches a selector, DEADLINE_EXCEEDED on
// timeouts.
//
// Thread safety: one test thread drives a page. The page must be destroyed
// before its browser.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/support/cdp_connection.h"
#include "tests/support/cdp_json.h"
#include "tests/support/cdp_page_events.h"
#include "tests/support/headless_chromium.h"

namespace hart::testing::cdp {

struct BrowserCookie {
  std::string name;
  std::string value;
  std::string domain;  // set from the URL when empty
  std::string path;    // "/" when empty
  bool http_only = false;
  bool secure = false;
  std::string same_site;  // "Strict", "Lax", "None", or empty: unset
};

class CdpPage {
 public:
  struct Options {
    // For each command, and for each page load.
    absl::Duration timeout = absl::Seconds(10);
    // Also sees the tab's events, on the connection's thread: it must not
    // block or Call() (see cdp_client_certificate.h for a use).
    std::function<void(const CdpEvent&)> on_event;
  };

  // A new tab, showing about:blank.
  static absl::StatusOr<std::unique_ptr<CdpPage>> Open(const HeadlessChromium& browser,
                                                       Options options);
  static absl::StatusOr<std::unique_ptr<CdpPage>> Open(const HeadlessChromium& browser) {
    return Open(browser, Options());
  }
  ~CdpPage();
  CdpPage(const CdpPage&) = delete;
  CdpPage& operator=(const CdpPage&) = delete;

  // Loads `url` as a new document and waits for its load event; returns
  // the document's HTTP status (0 without one, e.g. about:blank).
  absl::StatusOr<int> Navigate(const std::string& url);
  // The value of a JavaScript expression (a promise is awaited), as JSON;
  // null for undefined. DOM nodes come back as empty objects: return what
  // you need of them (textContent, an attribute, a count).
  absl::StatusOr<JsonValue> Evaluate(const std::string& expression);
  // Checks `predicate` (a JavaScript expression) every 20 ms until it is
  // truthy. It may throw while it does not hold yet (an element not there
  // yet): the last exception is in the timeout's message.
  absl::Status WaitFor(const std::string& predicate, absl::Duration timeout = absl::Seconds(10));

  // Scrolls the first element matching `selector` into view and clicks its
  // centre with the mouse; an error if something else covers it there.
  absl::Status Click(const std::string& selector);
  // Focuses the element and inserts `text` as typing would (input events,
  // no key events).
  absl::Status Type(const std::string& selector, const std::string& text);
  // Presses and releases a key where the focus is: "Tab", "Shift+Tab",
  // "Enter", "Space", "Escape", "Backspace", "Delete", "ArrowUp",
  // "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End", "PageUp",
  // "PageDown"; modifiers Shift+, Control+, Alt+, Meta+.
  absl::Status PressKey(const std::string& key);

  // A PNG of the viewport, or of the whole page, written to `png_path`.
  absl::Status Screenshot(const std::string& png_path, bool full_page = false);

  // Cookies for `url` as the browser holds them, HttpOnly ones included.
  absl::Status SetCookie(const BrowserCookie& cookie, const std::string& url);
  absl::StatusOr<std::vector<BrowserCookie>> Cookies(const std::string& url);

  // Since the page was opened; see PageEventLog.
  std::vector<std::string> ConsoleErrors() const { return events_.ConsoleErrors(); }
  std::vector<std::string> FailedRequests() const { return events_.FailedRequests(); }

  // A DevTools command in this tab's session, for what the above does not
  // cover.
  absl::StatusOr<JsonObject> Call(const std::string& method, const JsonObject& params = {});

 private:
  CdpPage(const HeadlessChromium& browser, Options options)
      : browser_(browser), options_(options) {}
  absl::Status Attach();
  // The element's centre in the viewport, for the mouse.
  absl::StatusOr<std::pair<double, double>> ClickPoint(const std::string& selector);

  const HeadlessChromium& browser_;
  const Options options_;
  PageEventLog events_;  // declared before the connection that feeds it
  std::unique_ptr<CdpConnection> connection_;
  std::string target_id_;
  std::string session_id_;
};

}  // namespace hart::testing::cdp
