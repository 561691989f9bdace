// The browser driver itself (tests/support/headless_chromium.h, cdp_page.h)
// against a page served over HTTPS on 127.0.0.1: what the dashboard's
// browser tests rely on — loading, clicking, typing, the keyboard, a live
// region fed by server-sent events without a reload, screenshots, cookies,
// and the errors a page can show.
#include <signal.h>

#include <cerrno>
#include <filesystem>
#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/store/status_assertions.h"
#include "tests/support/cdp_page.h"
#include "tests/support/headless_chromium.h"
#include "tests/support/https_test_server.h"
#include "tests/support/test_certificates.h"
#include "tests/support/test_support.h"

namespace hart::testing {
namespace {

using cdp::BrowserCookie;
using cdp::CdpPage;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Value;

constexpr char kPage[] = R"html(<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Browser driver check</title>
  <link rel="icon" href="data:,">
</head>
<body>
  <main>
    <h1>Browser driver check</h1>
    <p id="status" aria-live="polite">Waiting</p>
    <button id="go" type="button">Go</button>
    <label>Reason <input id="reason" type="text"></label>
    <button id="after" type="button">After</button>
    <section aria-label="Escalations"><p id="feed" aria-live="polite">No escalations</p></section>
  </main>
  <script src="/app.js"></script>
</body>
</html>)html";

constexpr char kScript[] = R"js('use strict';
window.sseOpen = false;
window.sseMessages = 0;
document.getElementById('go').addEventListener('click', () => {
  document.getElementById('status').textContent = 'Clicked';
});
const events = new EventSource('/events');
events.addEventListener('open', () => { window.sseOpen = true; });
events.addEventListener('escalation', (event) => {
  window.sseMessages += 1;
  document.getElementById('feed').textContent = event.data;
});
)js";

constexpr char kBrokenPage[] = R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Broken</title><link rel="icon" href="data:,">
</head><body><p>Broken</p><script>
  console.error('deliberate console error');
  fetch('/missing');
  setTimeout(() => { throw new Error('deliberate uncaught error'); });
</script></body></html>)html";

ServerReply Reply(std::string content_type, std::string body) {
  return {.status = 200, .headers = {{"Content-Type", std::move(content_type)}},
          .body = std::move(body)};
}

class HeadlessChromiumTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(certs_, MakeTestCertificates(dir_.path()));
    ASSERT_OK_AND_ASSIGN(
        server_, HttpsTestServer::Start({.cert_file = certs_.server_cert_file,
                                         .key_file = certs_.server_key_file},
                                        [this](const ReceivedRequest& request) {
                                          return Serve(request);
                                        }));
    ASSERT_OK_AND_ASSIGN(const std::string spki, SpkiHash(certs_.server_cert_file));
    ASSERT_OK_AND_ASSIGN(browser_, HeadlessChromium::Start({.accepted_spki_hashes = {spki}}));
    ASSERT_OK_AND_ASSIGN(page_, CdpPage::Open(*browser_));
  }

  ServerReply Serve(const ReceivedRequest& request) {
    if (request.target == "/") return Reply("text/html; charset=utf-8", kPage);
    if (request.target == "/app.js") return Reply("text/javascript", kScript);
    if (request.target == "/broken") return Reply("text/html; charset=utf-8", kBrokenPage);
    if (request.target == "/events") {
      ServerReply reply = Reply("text/event-stream", "");
      reply.headers["Cache-Control"] = "no-store";
      reply.stream = events_;
      return reply;
    }
    if (request.target == "/login") {
      ServerReply reply = Reply("text/html; charset=utf-8", "<!doctype html><title>In</title>");
      reply.headers["Set-Cookie"] = "session=s3cr3t; Path=/; Secure; HttpOnly; SameSite=Strict";
      return reply;
    }
    return {.status = 404, .headers = {{"Content-Type", "text/plain"}}, .body = "not found"};
  }

  int RequestsFor(const std::string& target) const {
    int n = 0;
    for (const ReceivedRequest& request : server_->Requests()) n += request.target == target;
    return n;
  }

  std::string Text(const std::string& expression) {
    return MUST(page_->Evaluate(expression)).string_value();
  }

  // Destroyed in reverse: the page, the browser, the server, the files.
  TempDir dir_;
  TestCertificates certs_;
  std::shared_ptr<ReplyStream> events_ = std::make_shared<ReplyStream>();
  std::unique_ptr<HttpsTestServer> server_;
  std::unique_ptr<HeadlessChromium> browser_;
  std::unique_ptr<CdpPage> page_;
};

TEST_F(HeadlessChromiumTest, ClicksTypesAndMovesTheFocusWithTheKeyboard) {
  ASSERT_OK_AND_ASSIGN(const int status, page_->Navigate(server_->Url("/")));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(Text("document.title"), "Browser driver check");
  EXPECT_EQ(Text("document.getElementById('status').textContent"), "Waiting");
  EXPECT_EQ(Text("document.getElementById('status').getAttribute('aria-live')"), "polite");

  ASSERT_OK(page_->Click("#go"));
  ASSERT_OK(page_->WaitFor("document.getElementById('status').textContent === 'Clicked'"));
  EXPECT_EQ(Text("document.activeElement.id"), "go");  // a real click focuses the button

  ASSERT_OK(page_->Type("#reason", "Needs a second look"));
  EXPECT_EQ(Text("document.getElementById('reason').value"), "Needs a second look");
  ASSERT_OK(page_->PressKey("Tab"));
  EXPECT_EQ(Text("document.activeElement.id"), "after");
  ASSERT_OK(page_->PressKey("Shift+Tab"));
  EXPECT_EQ(Text("document.activeElement.id"), "reason");

  const std::string png = ScreenshotPath("headless_chromium_test.png");
  std::filesystem::remove(png);
  ASSERT_OK(page_->Screenshot(png));
  EXPECT_EQ(ReadText(png).substr(0, 8), "\x89PNG\r\n\x1a\n");
  EXPECT_GT(FileSize(png), 1000u);

  EXPECT_THAT(page_->ConsoleErrors(), IsEmpty());
  EXPECT_THAT(page_->FailedRequests(), IsEmpty());
}

TEST_F(HeadlessChromiumTest, ShowsServerSentEventsWithoutReloading) {
  ASSERT_OK(page_->Navigate(server_->Url("/")).status());
  ASSERT_OK(page_->WaitFor("window.sseOpen"));
  ASSERT_OK(page_->Evaluate("window.sameDocument = true").status());  // gone if it reloads
  EXPECT_EQ(Text("document.getElementById('feed').textContent"), "No escalations");

  events_->Send("event: escalation\ndata: Escalated to the task force\n\n");
  ASSERT_OK(page_->WaitFor(
      "document.getElementById('feed').textContent === 'Escalated to the task force'"));
  events_->Send("event: escalation\ndata: Escalated to the supervisor\n\n");
  ASSERT_OK(page_->WaitFor(
      "document.getElementById('feed').textContent === 'Escalated to the supervisor'"));

  EXPECT_EQ(MUST(page_->Evaluate("window.sameDocument === true && window.sseMessages")).number_value(),
            2);
  EXPECT_EQ(RequestsFor("/"), 1);
  EXPECT_EQ(RequestsFor("/events"), 1);  // one stream, not reconnects
  EXPECT_THAT(page_->ConsoleErrors(), IsEmpty());
  EXPECT_THAT(page_->FailedRequests(), IsEmpty());
}

TEST_F(HeadlessChromiumTest, ReportsConsoleErrorsExceptionsAndFailedRequests) {
  ASSERT_OK(page_->Navigate(server_->Url("/broken")).status());
  const auto console_errors = AllOf(Contains(HasSubstr("deliberate console error")),
                                    Contains(HasSubstr("deliberate uncaught error")));
  const auto failed_requests = Contains(AllOf(HasSubstr("404"), HasSubstr("/missing")));
  // The events arrive while the page runs.
  WaitFor([&] {
    return Value(page_->ConsoleErrors(), console_errors) &&
           Value(page_->FailedRequests(), failed_requests);
  });
  EXPECT_THAT(page_->ConsoleErrors(), console_errors);
  EXPECT_THAT(page_->FailedRequests(), failed_requests);
}

TEST_F(HeadlessChromiumTest, RefusesAServerWhoseCertificateItWasNotGiven) {
  TempDir other_dir;
  ASSERT_OK_AND_ASSIGN(const TestCertificates other, MakeTestCertificates(other_dir.path()));
  ASSERT_OK_AND_ASSIGN(auto other_server,
                       HttpsTestServer::Start({.cert_file = other.server_cert_file,
                                               .key_file = other.server_key_file},
                                              [](const ReceivedRequest&) {
                                                return Reply("text/html", "<title>no</title>");
                                              }));
  const absl::StatusOr<int> refused = page_->Navigate(other_server->Url("/"));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(refused.status().message(), HasSubstr("ERR_CERT_AUTHORITY_INVALID"));
  EXPECT_TRUE(other_server->Requests().empty());

  ASSERT_OK_AND_ASSIGN(const int status, page_->Navigate(server_->Url("/")));
  EXPECT_EQ(status, 200);
}

TEST_F(HeadlessChromiumTest, ReadsAndSetsCookiesHttpOnlyOnesIncluded) {
  ASSERT_OK(page_->Navigate(server_->Url("/login")).status());
  ASSERT_OK_AND_ASSIGN(const auto cookies, page_->Cookies(server_->Url("/")));
  EXPECT_THAT(cookies, Contains(AllOf(Field(&BrowserCookie::name, "session"),
                                      Field(&BrowserCookie::value, "s3cr3t"),
                                      Field(&BrowserCookie::http_only, true),
                                      Field(&BrowserCookie::secure, true),
                                      Field(&BrowserCookie::same_site, "Strict"))));
  EXPECT_THAT(Text("document.cookie"), Not(HasSubstr("session")));  // HttpOnly

  ASSERT_OK(page_->SetCookie({.name = "theme", .value = "dark"}, server_->Url("/")));
  EXPECT_THAT(Text("document.cookie"), HasSubstr("theme=dark"));
}

TEST_F(HeadlessChromiumTest, SaysWhatItCouldNotDo) {
  ASSERT_OK(page_->Navigate(server_->Url("/")).status());
  EXPECT_EQ(STATUS_CODE(page_->Click("#absent")), absl::StatusCode::kNotFound);
  EXPECT_EQ(STATUS_CODE(page_->PressKey("Hyper+Q")), absl::StatusCode::kInvalidArgument);
  const absl::StatusOr<cdp::JsonValue> thrown = page_->Evaluate("noSuchFunction()");
  EXPECT_EQ(thrown.status().code(), absl::StatusCode::kUnknown);
  EXPECT_THAT(thrown.status().message(), HasSubstr("ReferenceError"));
  const absl::Status never = page_->WaitFor("window.neverSet === true", absl::Milliseconds(200));
  EXPECT_EQ(never.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(never.message(), HasSubstr("window.neverSet"));
}

// What a failed assertion relies on: the fixture's destructor leaves no
// browser process and no profile behind.
TEST_F(HeadlessChromiumTest, StoppingTheBrowserEndsItsProcessesAndRemovesItsDirectory) {
  ASSERT_OK(page_->Navigate(server_->Url("/")).status());
  const pid_t pid = browser_->pid();
  const std::string dir = browser_->dir();
  page_.reset();
  browser_.reset();

  const int signalled = kill(pid, 0);
  const int error = errno;
  EXPECT_EQ(signalled, -1);
  EXPECT_EQ(error, ESRCH);  // reaped, not a zombie
  EXPECT_FALSE(std::filesystem::exists(dir));
  // Its helpers (renderers, GPU, network) are gone too: no process names
  // the profile any more.
  EXPECT_TRUE(WaitFor([&] {
    std::error_code ignored;  // processes come and go while it is read
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ignored)) {
      if (ReadText(entry.path().string() + "/cmdline").find(dir) != std::string::npos) {
        return false;
      }
    }
    return true;
  }));
}

}  // namespace
}  // namespace hart::testing
