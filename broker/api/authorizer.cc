#include "broker/api/authorizer.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/api/authorization_table.h"
#include "broker/common/logging.h"

namespace hart {

absl::StatusOr<Identity> Authorizer::Require(const grpc::CallbackServerContext& context,
                                             const std::string& rpc) {
  const RpcPermission* permission = FindPermission(rpc);
  const std::vector<Role> allowed = permission ? permission->roles : std::vector<Role>{};
  auto auth = context.auth_context();
  if (!auth) return absl::UnauthenticatedError("a client certificate is required");
  auto identity = IdentityFromAuthContext(*auth);
  if (!identity.ok()) {
    RecordDenial("unauthenticated", rpc, "", "");
    return identity.status();
  }
  for (Role role : allowed) {
    if (identity->role != role) continue;
    if (!limiter_.Allow(identity->ToString())) {
      Logger("auth")->warn("event=rate_limited actor={} rpc={}", identity->ToString(), rpc);
      return absl::ResourceExhaustedError(absl::StrCat(
          "rate limit: at most ", options_.rate_per_second,
          " calls a second per certificate; slow down and retry"));
    }
    if (options_.require_deadlines && permission != nullptr && !permission->streaming &&
        context.deadline() == std::chrono::system_clock::time_point::max()) {
      return absl::InvalidArgumentError(
          absl::StrCat(rpc, " needs a deadline: set one on every call (e.g. 10 s)"));
    }
    return identity;
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

namespace hart {

absl::Status Authorizer::OpenStream(const Identity& identity) {
  absl::MutexLock lock(&streams_mu_);
  uint32_t& open = open_streams_[identity.ToString()];
  if (open >= options_.max_streams_per_identity) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "this certificate already has ", open, " streams open (the most allowed); close one"));
  }
  ++open;
  return absl::OkStatus();
}

void Authorizer::CloseStream(const Identity& identity) {
  absl::MutexLock lock(&streams_mu_);
  auto it = open_streams_.find(identity.ToString());
  if (it != open_streams_.end() && it->second > 0 && --it->second == 0) open_streams_.erase(it);
}

}  // namespace hart
