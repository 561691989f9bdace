#include "broker/api/authorizer.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/api/authorization_table.h"
#include "broker/common/client_facing_status.h"
#include "broker/common/logging.h"

namespace hart {

namespace {

AuditEvent DenialEvent(absl::Time now, const std::string& actor, const std::string& rpc,
                       const std::string& referral_id, const std::string& delivery_id) {
  return {now, actor, "access.denied", referral_id, delivery_id, "", absl::StrCat("rpc=", rpc)};
}

}  // namespace

absl::Status ShuttingDown() {
  return WrittenForClient(
      absl::UnavailableError("the broker is shutting down; retry on another replica"));
}

Authorizer::Decision Authorizer::Decide(const grpc::CallbackServerContext& context,
                                        const std::string& rpc) {
  // First: a draining broker takes no new work, whoever asks.
  if (drain_.draining()) return {ShuttingDown(), {}};
  const RpcPermission* permission = FindPermission(rpc);
  const std::vector<Role> allowed = permission ? permission->roles : std::vector<Role>{};
  auto auth = context.auth_context();
  if (!auth) return {absl::UnauthenticatedError("a client certificate is required"), {}};
  auto identity = IdentityFromAuthContext(*auth);
  if (!identity.ok()) {
    return {identity.status(), DenialEvent(clock_.Now(), "unauthenticated", rpc, "", "")};
  }
  for (Role role : allowed) {
    if (identity->role != role) continue;
    if (!limiter_.Allow(identity->ToString())) return {RateLimited(*identity, rpc), {}};
    // After the rate limit: a removed agency's partner retrying in a loop
    // is audited at that pace, no faster.
    if (role == Role::kAgency && !options_.agency_ids.empty() &&
        !options_.agency_ids.contains(identity->id)) {
      return {absl::PermissionDeniedError(absl::StrCat(
                  "this certificate is ", identity->ToString(), ", an agency the broker's "
                  "config does not list; ask the operator for a certificate of a configured "
                  "agency")),
              DenialEvent(clock_.Now(), identity->ToString(), rpc, "", "")};
    }
    if (options_.require_deadlines && permission != nullptr && !permission->streaming &&
        context.deadline() == std::chrono::system_clock::time_point::max()) {
      return {absl::InvalidArgumentError(
                  absl::StrCat(rpc, " needs a deadline: set one on every call (e.g. 10 s)")),
              {}};
    }
    return {std::move(identity), {}};
  }
  std::vector<std::string> names;
  for (Role role : allowed) names.push_back(RoleName(role));
  return {absl::PermissionDeniedError(absl::StrCat(
              rpc, " is for the ", absl::StrJoin(names, " or "), " role; this certificate is ",
              identity->ToString())),
          DenialEvent(clock_.Now(), identity->ToString(), rpc, "", "")};
}

absl::Status Authorizer::RateLimited(const Identity& identity, const std::string& rpc) const {
  const std::string actor = identity.ToString();
  if (const std::optional<uint64_t> held = rate_limited_log_.Admit(actor)) {
    Logger("auth")->warn("event=rate_limited actor={} rpc={} refusals_not_logged_since_last={}",
                         actor, rpc, *held);
  }
  return absl::ResourceExhaustedError(absl::StrCat("rate limit: at most ",
                                                   options_.rate_per_second,
                                                   " calls a second per certificate; slow down "
                                                   "and retry"));
}

absl::Status Authorizer::AllowAnother(const Identity& identity, const std::string& rpc) {
  if (limiter_.Allow(identity.ToString())) return absl::OkStatus();
  return RateLimited(identity, rpc);
}

void Authorizer::Refuse(Decision decision, Refused then) {
  absl::Status refusal = decision.identity.status();
  if (!decision.denial) return then(std::move(refusal));
  absl::Status queued = executor_.Submit([this, denial = *decision.denial, refusal, then] {
    Record(denial);
    then(refusal);
  });
  if (!queued.ok()) then(std::move(queued));
}

void Authorizer::Authorize(const grpc::CallbackServerContext& context, const std::string& rpc,
                           Decided then) {
  Decision decision = Decide(context, rpc);
  if (decision.identity.ok()) return then(std::move(decision.identity));
  Refuse(std::move(decision), [then = std::move(then)](absl::Status refusal) {
    then(std::move(refusal));
  });
}

void Authorizer::RecordDenial(const std::string& actor, const std::string& rpc,
                              const std::string& referral_id,
                              const std::string& delivery_id) {
  Record(DenialEvent(clock_.Now(), actor, rpc, referral_id, delivery_id));
}

void Authorizer::Record(const AuditEvent& denial) {
  static const auto log = Logger("auth");
  if (auto s = store_.AppendAudit({&denial, 1}); !s.ok()) {
    log->error("event=audit_write_failed action=access.denied");
  }
  log->warn("event=access_denied actor={} {}", denial.actor, denial.detail);
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
