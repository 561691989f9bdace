#include "broker/api/identity.h"

#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace hart {

std::string RoleName(Role role) {
  switch (role) {
    case Role::kCareline: return "careline";
    case Role::kAgency: return "agency";
    case Role::kSupervisor: return "supervisor";
    case Role::kAuditor: return "auditor";
    case Role::kOperator: return "operator";
    case Role::kBroker: return "broker";
  }
  return "unknown";
}

std::string Identity::ToString() const { return absl::StrCat(RoleName(role), "/", id); }

absl::StatusOr<Identity> ParseIdentityUri(const std::string& uri) {
  if (!absl::StartsWith(uri, kIdentityUriPrefix)) {
    return absl::UnauthenticatedError(absl::StrCat(
        "client certificate URI must start with ", kIdentityUriPrefix));
  }
  std::vector<std::string> parts =
      absl::StrSplit(uri.substr(sizeof(kIdentityUriPrefix) - 1), '/');
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
    return absl::UnauthenticatedError(
        "client certificate URI must be spiffe://hart.ct.gov/<role>/<id>");
  }
  Identity identity;
  identity.id = parts[1];
  if (parts[0] == "careline") identity.role = Role::kCareline;
  else if (parts[0] == "agency") identity.role = Role::kAgency;
  else if (parts[0] == "supervisor") identity.role = Role::kSupervisor;
  else if (parts[0] == "auditor") identity.role = Role::kAuditor;
  else if (parts[0] == "operator") identity.role = Role::kOperator;
  else if (parts[0] == "broker") identity.role = Role::kBroker;
  else {
    return absl::UnauthenticatedError(absl::StrCat(
        "unknown role '", parts[0],
        "' in client certificate; use careline, agency, supervisor, auditor or operator"));
  }
  return identity;
}

absl::StatusOr<Identity> IdentityFromAuthContext(const grpc::AuthContext& context) {
  if (!context.IsPeerAuthenticated()) {
    return absl::UnauthenticatedError("a client certificate is required");
  }
  // The error is built only when there is one: this runs on every call.
  std::optional<absl::Status> refused;
  for (const char* property : {"peer_uri", "peer_spiffe_id"}) {
    for (const auto& value : context.FindPropertyValues(property)) {
      const absl::string_view uri(value.data(), value.size());
      if (!absl::StartsWith(uri, kIdentityUriPrefix)) continue;
      auto identity = ParseIdentityUri(std::string(uri));
      if (identity.ok()) return identity;
      refused = identity.status();
    }
  }
  if (refused) return *std::move(refused);
  return absl::UnauthenticatedError(
      "the client certificate has no spiffe://hart.ct.gov/<role>/<id> URI");
}

}  // namespace hart
