// The dashboard's responses: its security headers on every one, the
// refusal pages, JSON answers.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "broker/ops/ops_http.h"
#include "google/protobuf/message.h"

namespace hart::dashboard {

// `body` with the dashboard's security headers (CSP default-src 'self',
// no framing, no referrer).
ops::OpsResponse Secured(int status, std::string content_type, std::string body);

// A refusal as a small page (for navigation) naming what to do:
// UNAUTHENTICATED 401, PERMISSION_DENIED 403, NOT_FOUND 404, else its
// HTTP mapping.
ops::OpsResponse ErrorPage(const absl::Status& status);

// A refusal for the page's script: {"error": "..."} with the status's code.
ops::OpsResponse ErrorJson(const absl::Status& status);

ops::OpsResponse Json(std::string body);

// `message` as proto JSON (lowerCamelCase field names).
ops::OpsResponse JsonOf(const google::protobuf::Message& message);

// `text` as a JSON string literal, quotes included.
std::string JsonString(absl::string_view text);

// A content type by file extension (html, js, css, svg).
std::string ContentTypeOf(std::string_view file_name);

}  // namespace hart::dashboard
