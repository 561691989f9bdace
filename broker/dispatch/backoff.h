// Retry delays: exponential growth with "equal jitter". The ceiling for
// attempt n (1-based) is min(max, initial * 2^(n-1)); the delay is uniform
// in [ceiling/2, ceiling], so it grows with every failure yet spreads
// retries of many deliveries apart.
#pragma once

#include <cstdint>

#include "absl/time/time.h"
#include "broker/random.h"

namespace hart {

struct BackoffPolicy {
  absl::Duration initial = absl::Seconds(2);
  absl::Duration max = absl::Minutes(5);
};

absl::Duration BackoffCeiling(const BackoffPolicy& policy, uint32_t attempt);
absl::Duration RetryDelay(const BackoffPolicy& policy, uint32_t attempt,
                          RandomSource& random);

}  // namespace hart
