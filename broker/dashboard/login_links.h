// One-time sign-in links for the supervisors' dashboard, made by
// `hartctl dashboard` (SupervisorService.CreateDashboardLogin) for a caller
// whose certificate names a supervisor. A link's token is 32 random bytes,
// works once and expires after `lifetime`; only its SHA-256 is kept, in
// memory: with several replicas, a link must be opened on the replica that
// made it (the ops port of the broker hartctl talked to).
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/api/identity.h"
#include "broker/clock.h"
#include "broker/random.h"

namespace hart::dashboard {

struct LoginLink {
  std::string token;  // base64url; goes into the link's query
  absl::Time expires_at;
};

class LoginLinks {
 public:
  // `clock` and `random` must outlive it.
  LoginLinks(const Clock& clock, RandomSource& random, absl::Duration lifetime = absl::Minutes(5),
             size_t max_outstanding = 256);

  // A new link for `identity`. RESOURCE_EXHAUSTED when too many unused
  // ones are still valid.
  absl::StatusOr<LoginLink> Issue(const Identity& identity);
  // The identity the token was made for, once: the token is spent.
  // nullopt if unknown, spent or expired.
  std::optional<Identity> Redeem(const std::string& token);

 private:
  void ForgetExpired(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  struct Pending {
    Identity identity;
    absl::Time expires_at;
  };
  const Clock& clock_;
  RandomSource& random_;
  const absl::Duration lifetime_;
  const size_t max_outstanding_;
  absl::Mutex mu_;
  std::map<std::string, Pending> pending_ ABSL_GUARDED_BY(mu_);  // by SHA-256 of the token
};

}  // namespace hart::dashboard
