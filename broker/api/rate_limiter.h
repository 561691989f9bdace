// Per-identity token buckets: each identity may make `per_second` calls a
// second on average and `burst` at once. Time comes from the injected clock.
//
// Thread safety: safe to call concurrently.
#pragma once

#include <map>
#include <string>

#include "absl/synchronization/mutex.h"
#include "broker/clock.h"

namespace hart {

class RateLimiter {
 public:
  // per_second <= 0 disables limiting. `clock` must outlive the limiter.
  RateLimiter(const Clock& clock, double per_second, double burst)
      : clock_(clock), per_second_(per_second), burst_(burst < 1 ? 1 : burst) {}

  // Takes a token for `identity`; false when its bucket is empty.
  bool Allow(const std::string& identity);

 private:
  struct Bucket {
    double tokens;
    absl::Time refilled_at;
  };
  const Clock& clock_;
  const double per_second_;
  const double burst_;
  absl::Mutex mu_;
  std::map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hart
