#include "broker/api/authorizer.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/common/logging.h"

namespace hart {

absl::StatusOr<Identity> Authorizer::Require(const grpc::CallbackServerContext& context,
                                             const std::string& rpc,
                                             std::initializer_list<Role> allowed) {
  auto auth = context.auth_context();
  if (!auth) return absl::UnauthenticatedError("a client certificate is required");
  auto identity = IdentityFromAuthContext(*auth);
  if (!identity.ok()) {
    RecordDenial("unauthenticated", rpc, "", "");
    return identity.status();
  }
  for (Role role : allowed) {
    if (identity->role == role) return identity;
  }
  RecordDenial(identity->ToString(), rpc, "", "");
  std::vector<std::string> names;
  for (Role role : allowed) names.push_back(RoleName(role));
  return absl::PermissionDeniedError(absl::StrCat(
      rpc, " is for the ", absl::StrJoin(names, " or "), " role; this certificate is ",
      identity->ToString()));
}

void Authorizer::RecordDenial(const std::string& actor, const std::string& rpc,
                              const std::string& referral_id,
                              const std::string& delivery_id) {
  static const auto log = Logger("auth");
  AuditEvent event{clock_.Now(), actor, "access.denied", referral_id, delivery_id, "",
                   absl::StrCat("rpc=", rpc)};
  if (auto s = store_.AppendAudit({&event, 1}); !s.ok()) {
    log->error("event=audit_write_failed action=access.denied");
  }
  log->warn("event=access_denied actor={} rpc={}", actor, rpc);
}

}  // namespace hart
