#include "broker/dashboard/sessions.h"

#include "absl/strings/escaping.h"
#include "broker/common/sha256.h"

namespace hart::dashboard {

Sessions::Sessions(const Clock& clock, RandomSource& random, SessionLimits limits)
    : clock_(clock), random_(random), limits_(limits) {}

bool Sessions::Expired(const Live& live, absl::Time now) const {
  return now - live.last_used >= limits_.idle || now - live.began >= limits_.absolute;
}

absl::StatusOr<NewSession> Sessions::Begin(const Identity& identity) {
  const absl::Time now = clock_.Now();
  NewSession created{absl::WebSafeBase64Escape(random_.Bytes(32)),
                     {identity, absl::WebSafeBase64Escape(random_.Bytes(32))}};
  absl::MutexLock lock(&mu_);
  ForgetExpired(now);
  if (live_.size() >= limits_.max_sessions) {
    return absl::ResourceExhaustedError("too many dashboard sessions; try again later");
  }
  live_[Sha256(created.id)] = {created.session, now, now};
  return created;
}

std::optional<Session> Sessions::Find(const std::string& id) {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  auto it = live_.find(Sha256(id));
  if (it == live_.end()) return std::nullopt;
  if (Expired(it->second, now)) {
    live_.erase(it);
    return std::nullopt;
  }
  it->second.last_used = now;
  return it->second.session;
}

void Sessions::End(const std::string& id) {
  absl::MutexLock lock(&mu_);
  live_.erase(Sha256(id));
}

void Sessions::ForgetExpired(absl::Time now) {
  for (auto it = live_.begin(); it != live_.end();) {
    it = Expired(it->second, now) ? live_.erase(it) : std::next(it);
  }
}

}  // namespace hart::dashboard
