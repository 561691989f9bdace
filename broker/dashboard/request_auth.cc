#include "broker/dashboard/request_auth.h"

#include <openssl/crypto.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace hart::dashboard {
namespace {

std::string Header(const ops::OpsRequest& request, const std::string& name) {
  auto it = request.headers.find(name);
  return it == request.headers.end() ? "" : it->second;
}

absl::StatusOr<Caller> RequireSupervisor(Caller caller) {
  if (caller.identity.role != Role::kSupervisor) {
    return absl::PermissionDeniedError(
        absl::StrCat("the dashboard is for supervisors; ", RoleName(caller.identity.role),
                     " identities may not use it"));
  }
  return caller;
}

bool SameSecret(const std::string& a, const std::string& b) {
  return !a.empty() && a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::string CookieValue(const ops::OpsRequest& request, const std::string& name) {
  for (absl::string_view part : absl::StrSplit(Header(request, "cookie"), ';')) {
    part = absl::StripAsciiWhitespace(part);
    if (absl::ConsumePrefix(&part, name) && absl::ConsumePrefix(&part, "=")) {
      return std::string(part);
    }
  }
  return "";
}

absl::StatusOr<Caller> Authenticate(const ops::OpsRequest& request, Sessions& sessions) {
  std::optional<Session> session;
  if (const std::string id = CookieValue(request, kSessionCookie); !id.empty()) {
    session = sessions.Find(id);
  }
  if (request.peer) {
    for (const std::string& uri : request.peer->uris) {
      auto identity = ParseIdentityUri(uri);
      if (!identity.ok()) continue;
      // A session made for someone else does not go with this certificate.
      if (session && session->identity.ToString() != identity->ToString()) session.reset();
      return RequireSupervisor({*identity, session});
    }
  }
  if (session) return RequireSupervisor({session->identity, session});
  return absl::UnauthenticatedError(
      "sign in with a supervisor's client certificate or a link from `hartctl dashboard`");
}

absl::Status CheckStateChange(const ops::OpsRequest& request, const Caller& caller) {
  if (!caller.session) {
    return absl::PermissionDeniedError("no dashboard session: reload the page");
  }
  if (!SameSecret(Header(request, kCsrfHeader), caller.session->csrf_token)) {
    return absl::PermissionDeniedError("missing or wrong CSRF token: reload the page");
  }
  const std::string host = Header(request, "host");
  if (host.empty() || Header(request, "origin") != absl::StrCat("https://", host)) {
    return absl::PermissionDeniedError("the request did not come from the dashboard's own page");
  }
  return absl::OkStatus();
}

}  // namespace hart::dashboard
