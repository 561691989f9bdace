#include "broker/dashboard/login_links.h"

#include "absl/strings/escaping.h"
#include "broker/common/sha256.h"

namespace hart::dashboard {

LoginLinks::LoginLinks(const Clock& clock, RandomSource& random, absl::Duration lifetime,
                       size_t max_outstanding)
    : clock_(clock), random_(random), lifetime_(lifetime), max_outstanding_(max_outstanding) {}

absl::StatusOr<LoginLink> LoginLinks::Issue(const Identity& identity) {
  const absl::Time now = clock_.Now();
  LoginLink link{absl::WebSafeBase64Escape(random_.Bytes(32)), now + lifetime_};
  absl::MutexLock lock(&mu_);
  ForgetExpired(now);
  if (pending_.size() >= max_outstanding_) {
    return absl::ResourceExhaustedError(
        "too many unused dashboard links; wait a few minutes for them to expire");
  }
  pending_[Sha256(link.token)] = {identity, link.expires_at};
  return link;
}

std::optional<Identity> LoginLinks::Redeem(const std::string& token) {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  ForgetExpired(now);
  auto it = pending_.find(Sha256(token));
  if (it == pending_.end()) return std::nullopt;
  Identity identity = it->second.identity;
  pending_.erase(it);
  return identity;
}

void LoginLinks::ForgetExpired(absl::Time now) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    it = it->second.expires_at <= now ? pending_.erase(it) : std::next(it);
  }
}

}  // namespace hart::dashboard
