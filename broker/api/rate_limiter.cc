#include "broker/api/rate_limiter.h"

#include <algorithm>

namespace hart {

bool RateLimiter::Allow(const std::string& identity) {
  if (per_second_ <= 0) return true;
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = buckets_.try_emplace(identity, Bucket{burst_, now});
  Bucket& bucket = it->second;
  const double elapsed = absl::ToDoubleSeconds(now - bucket.refilled_at);
  if (elapsed > 0) {
    bucket.tokens = std::min(burst_, bucket.tokens + elapsed * per_second_);
    bucket.refilled_at = now;
  } else if (elapsed < 0) {
    // The wall clock stepped back: refill from here on. Kept at the later
    // time, the bucket would refill nothing until the clock caught up, and
    // every caller would be refused for as long as the step (found by the
    // fault runner: ten minutes of RESOURCE_EXHAUSTED after `clock-10m`).
    bucket.refilled_at = now;
  }
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

}  // namespace hart
