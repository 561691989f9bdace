#include "tests/support/cdp_page.h"

#include <fstream>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/common/status_macros.h"

namespace hart::testing::cdp {
namespace {

constexpr absl::Duration kPollInterval = absl::Milliseconds(20);
constexpr absl::Duration kCloseTimeout = absl::Seconds(2);

// What a failed wait reports of the page, to tell why it did not get there.
std::string ConsoleErrorsSoFar(const std::vector<std::string>& errors) {
  if (errors.empty()) return "";
  return absl::StrCat("; console errors so far: ", absl::StrJoin(errors, " | "));
}

}  // namespace

absl::StatusOr<std::unique_ptr<CdpPage>> CdpPage::Open(const HeadlessChromium& browser,
                                                       Options options) {
  std::unique_ptr<CdpPage> page(new CdpPage(browser, options));
  HART_RETURN_IF_ERROR(page->Attach());
  return page;
}

absl::Status CdpPage::Attach() {
  PageEventLog* events = &events_;
  auto connection = CdpConnection::Connect(
      browser_.devtools_port(), browser_.devtools_path(),
      [events, also = options_.on_event](const CdpEvent& event) {
        if (event.session_id.empty()) return;  // the browser's own: not ours
        events->OnEvent(event);
        if (also) also(event);
      },
      options_.timeout);
  if (!connection.ok()) {
    return absl::Status(connection.status().code(),
                        absl::StrCat(connection.status().message(), "; Chromium's log ends:\n",
                                     browser_.LogTail()));
  }
  connection_ = *std::move(connection);
  HART_ASSIGN_OR_RETURN(
      target, connection_->Call("Target.createTarget", Object({{"url", JsonString("about:blank")}}),
                                "", options_.timeout));
  target_id_ = GetString(target, "targetId");
  // Flattened: the tab's commands and events travel on this one socket,
  // marked with the session id.
  HART_ASSIGN_OR_RETURN(attached, connection_->Call("Target.attachToTarget",
                                                    Object({{"targetId", JsonString(target_id_)},
                                                            {"flatten", JsonBool(true)}}),
                                                    "", options_.timeout));
  session_id_ = GetString(attached, "sessionId");
  for (const char* domain : {"Page.enable", "Network.enable", "Runtime.enable", "Log.enable"}) {
    HART_RETURN_IF_ERROR(Call(domain).status());
  }
  // Focus and blur behave as in a focused window (Tab moves the focus,
  // :focus styles apply) whatever the headless window manager thinks.
  return Call("Emulation.setFocusEmulationEnabled", Object({{"enabled", JsonBool(true)}}))
      .status();
}

CdpPage::~CdpPage() {
  if (connection_ == nullptr || target_id_.empty()) return;
  // Best effort: a browser that is gone has closed the tab anyway.
  (void)connection_->Call("Target.closeTarget", Object({{"targetId", JsonString(target_id_)}}),
                          "", kCloseTimeout);
}

absl::StatusOr<JsonObject> CdpPage::Call(const std::string& method, const JsonObject& params) {
  absl::StatusOr<JsonObject> reply =
      connection_->Call(method, params, session_id_, options_.timeout);
  if (reply.status().code() == absl::StatusCode::kUnavailable) {
    return absl::UnavailableError(absl::StrCat(reply.status().message(),
                                               "; Chromium's log ends:\n", browser_.LogTail()));
  }
  return reply;
}

absl::StatusOr<int> CdpPage::Navigate(const std::string& url) {
  const int loads_before = events_.loads();
  HART_ASSIGN_OR_RETURN(reply, Call("Page.navigate", Object({{"url", JsonString(url)}})));
  if (const std::string error = GetString(reply, "errorText"); !error.empty()) {
    return absl::UnavailableError(absl::StrCat("cannot load ", url, ": ", error));
  }
  if (!events_.AwaitLoadAfter(loads_before, options_.timeout)) {
    return absl::DeadlineExceededError(
        absl::StrCat(url, " did not finish loading within ", absl::FormatDuration(options_.timeout),
                     ConsoleErrorsSoFar(events_.ConsoleErrors())));
  }
  return events_.DocumentStatus(GetString(reply, "loaderId"));
}

absl::StatusOr<JsonValue> CdpPage::Evaluate(const std::string& expression) {
  HART_ASSIGN_OR_RETURN(reply, Call("Runtime.evaluate",
                                    Object({{"expression", JsonString(expression)},
                                            {"returnByValue", JsonBool(true)},
                                            {"awaitPromise", JsonBool(true)}})));
  if (Get(reply, "exceptionDetails").has_struct_value()) {
    std::string what = GetString(reply, "exceptionDetails.exception.description");
    if (what.empty()) what = GetString(reply, "exceptionDetails.text");
    return absl::UnknownError(absl::StrCat("`", expression, "` threw ", what));
  }
  JsonValue value = Get(reply, "result.value");  // absent for undefined
  if (value.kind_case() == JsonValue::KIND_NOT_SET) value.set_null_value({});
  return value;
}

absl::Status CdpPage::WaitFor(const std::string& predicate, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  const std::string check = absl::StrCat("!!(", predicate, ")");
  for (;;) {
    absl::StatusOr<JsonValue> holds = Evaluate(check);
    std::string outcome = "false";
    if (holds.ok()) {
      if (holds->bool_value()) return absl::OkStatus();
    } else if (holds.status().code() == absl::StatusCode::kUnavailable ||
               holds.status().code() == absl::StatusCode::kDeadlineExceeded) {
      return holds.status();  // the browser, not the page
    } else {
      outcome = std::string(holds.status().message());  // e.g. a document between loads
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("`", predicate, "` did not hold within ", absl::FormatDuration(timeout),
                       " (last: ", outcome, ")", ConsoleErrorsSoFar(events_.ConsoleErrors())));
    }
    absl::SleepFor(kPollInterval);
  }
}

absl::Status CdpPage::Screenshot(const std::string& png_path, bool full_page) {
  JsonObject params = Object({{"format", JsonString("png")}});
  if (full_page) {
    HART_ASSIGN_OR_RETURN(metrics, Call("Page.getLayoutMetrics"));
    (*params.mutable_fields())["captureBeyondViewport"] = JsonBool(true);
    (*params.mutable_fields())["clip"] = JsonOf(Object({
        {"x", JsonNumber(0)},
        {"y", JsonNumber(0)},
        {"width", JsonNumber(GetNumber(metrics, "cssContentSize.width"))},
        {"height", JsonNumber(GetNumber(metrics, "cssContentSize.height"))},
        {"scale", JsonNumber(1)},
    }));
  }
  HART_ASSIGN_OR_RETURN(reply, Call("Page.captureScreenshot", params));
  std::string png;
  if (!absl::Base64Unescape(GetString(reply, "data"), &png) || png.empty()) {
    return absl::InternalError("Page.captureScreenshot returned no image");
  }
  std::ofstream out(png_path, std::ios::binary | std::ios::trunc);
  out.write(png.data(), static_cast<std::streamsize>(png.size()));
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write the screenshot to ", png_path));
  return absl::OkStatus();
}

absl::Status CdpPage::SetCookie(const BrowserCookie& cookie, const std::string& url) {
  JsonObject params = Object({{"name", JsonString(cookie.name)},
                              {"value", JsonString(cookie.value)},
                              {"url", JsonString(url)},
                              {"httpOnly", JsonBool(cookie.http_only)},
                              {"secure", JsonBool(cookie.secure)}});
  auto& fields = *params.mutable_fields();
  if (!cookie.domain.empty()) fields["domain"] = JsonString(cookie.domain);
  if (!cookie.path.empty()) fields["path"] = JsonString(cookie.path);
  if (!cookie.same_site.empty()) fields["sameSite"] = JsonString(cookie.same_site);
  HART_ASSIGN_OR_RETURN(reply, Call("Network.setCookie", params));
  if (const JsonValue& success = Get(reply, "success");
      success.has_bool_value() && !success.bool_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the browser refused cookie ", cookie.name, " for ", url));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<BrowserCookie>> CdpPage::Cookies(const std::string& url) {
  HART_ASSIGN_OR_RETURN(reply, Call("Network.getCookies",
                                    Object({{"urls", JsonList({JsonString(url)})}})));
  std::vector<BrowserCookie> cookies;
  for (const JsonValue& item : Get(reply, "cookies").list_value().values()) {
    const JsonObject& cookie = item.struct_value();
    cookies.push_back({GetString(cookie, "name"), GetString(cookie, "value"),
                       GetString(cookie, "domain"), GetString(cookie, "path"),
                       Get(cookie, "httpOnly").bool_value(), Get(cookie, "secure").bool_value(),
                       GetString(cookie, "sameSite")});
  }
  return cookies;
}

}  // namespace hart::testing::cdp
