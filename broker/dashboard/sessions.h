// Dashboard sessions: what a redeemed login link (or a supervisor's client
// certificate) turns into. The browser holds the session id in an HttpOnly
// cookie; the page's script holds the CSRF token, which every POST sends in
// a header. A session ends after `idle` without use or `absolute` after it
// began, whichever is first. Only the id's SHA-256 is kept, in memory.
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

struct SessionLimits {
  absl::Duration idle = absl::Minutes(30);
  absl::Duration absolute = absl::Hours(8);
  size_t max_sessions = 1024;
};

struct Session {
  Identity identity;
  std::string csrf_token;
};

struct NewSession {
  std::string id;  // the cookie's value
  Session session;
};

class Sessions {
 public:
  // `clock` and `random` must outlive it.
  Sessions(const Clock& clock, RandomSource& random, SessionLimits limits = {});

  // RESOURCE_EXHAUSTED when max_sessions live sessions exist.
  absl::StatusOr<NewSession> Begin(const Identity& identity);
  // The live session with this id (its idle time restarts); nullopt if
  // unknown or expired.
  std::optional<Session> Find(const std::string& id);
  void End(const std::string& id);

  absl::Duration absolute() const { return limits_.absolute; }

 private:
  void ForgetExpired(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  struct Live {
    Session session;
    absl::Time began;
    absl::Time last_used;
  };
  bool Expired(const Live& live, absl::Time now) const;

  const Clock& clock_;
  RandomSource& random_;
  const SessionLimits limits_;
  absl::Mutex mu_;
  std::map<std::string, Live> live_ ABSL_GUARDED_BY(mu_);  // by SHA-256 of the id
};

}  // namespace hart::dashboard
