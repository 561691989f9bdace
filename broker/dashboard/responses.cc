#include "broker/dashboard/responses.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace hart::dashboard {
namespace {

constexpr char kCsp[] =
    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'";

int HttpStatusOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnauthenticated: return 401;
    case absl::StatusCode::kPermissionDenied: return 403;
    case absl::StatusCode::kNotFound: return 404;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange: return 400;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted: return 409;
    case absl::StatusCode::kResourceExhausted: return 429;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded: return 503;
    default: return 500;
  }
}

std::string HtmlEscape(absl::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrCat("\\u00", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

ops::OpsResponse Secured(int status, std::string content_type, std::string body) {
  ops::OpsResponse response{status, std::move(content_type), {}, std::move(body)};
  response.headers = {{"Content-Security-Policy", kCsp},
                      {"X-Frame-Options", "DENY"},
                      {"Referrer-Policy", "no-referrer"},
                      {"Cross-Origin-Opener-Policy", "same-origin"},
                      {"Cross-Origin-Resource-Policy", "same-origin"}};
  return response;
}

ops::OpsResponse ErrorPage(const absl::Status& status) {
  const int code = HttpStatusOf(status);
  const char* title = code == 401   ? "Sign-in required"
                      : code == 403 ? "Not allowed"
                      : code == 404 ? "Not found"
                                    : "Error";
  return Secured(code, "text/html; charset=utf-8",
                 absl::StrCat("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                              "<title>HART dashboard: ", title, "</title></head><body><main>"
                              "<h1>", title, "</h1><p role=\"alert\">",
                              HtmlEscape(status.message()), "</p></main></body></html>\n"));
}

ops::OpsResponse ErrorJson(const absl::Status& status) {
  return Secured(HttpStatusOf(status), "application/json",
                 absl::StrCat("{\"error\":", JsonString(status.message()), "}"));
}

ops::OpsResponse JsonOf(const google::protobuf::Message& message) {
  std::string json;
  auto status = google::protobuf::util::MessageToJsonString(message, &json);
  if (!status.ok()) return ErrorJson(absl::InternalError("could not render the answer"));
  return Json(std::move(json));
}

ops::OpsResponse Json(std::string body) {
  return Secured(200, "application/json", std::move(body));
}

std::string ContentTypeOf(std::string_view file_name) {
  if (file_name.ends_with(".html")) return "text/html; charset=utf-8";
  if (file_name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (file_name.ends_with(".css")) return "text/css; charset=utf-8";
  if (file_name.ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

}  // namespace hart::dashboard
