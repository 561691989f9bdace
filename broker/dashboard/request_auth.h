// Who a dashboard request comes from, and whether a state-changing request
// really comes from the dashboard's own page.
//
// A request is a supervisor's when its client certificate names one
// (ParseIdentityUri on its URIs), or else when it carries the cookie of a
// live session. Anything else is refused: no identity UNAUTHENTICATED, any
// other role PERMISSION_DENIED.
#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker/api/identity.h"
#include "broker/dashboard/sessions.h"
#include "broker/ops/ops_http.h"

namespace hart::dashboard {

inline constexpr char kSessionCookie[] = "hart_dashboard";
inline constexpr char kCsrfHeader[] = "x-csrf-token";

struct Caller {
  Identity identity;
  std::optional<Session> session;  // set when the request carried a live one
};

// The value of cookie `name` in the request's Cookie header; empty if none.
std::string CookieValue(const ops::OpsRequest& request, const std::string& name);

absl::StatusOr<Caller> Authenticate(const ops::OpsRequest& request, Sessions& sessions);

// For POSTs: the caller has a session, the request's CSRF header matches
// it, and Origin is this server's own (https://<Host>). PERMISSION_DENIED
// saying which check failed.
absl::Status CheckStateChange(const ops::OpsRequest& request, const Caller& caller);

}  // namespace hart::dashboard
