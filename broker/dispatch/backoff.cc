#include "broker/dispatch/backoff.h"

#include <algorithm>

namespace hart {

absl::Duration BackoffCeiling(const BackoffPolicy& policy, uint32_t attempt) {
  absl::Duration ceiling = policy.initial;
  for (uint32_t i = 1; i < attempt && ceiling < policy.max; ++i) ceiling *= 2;
  return std::min(ceiling, policy.max);
}

absl::Duration RetryDelay(const BackoffPolicy& policy, uint32_t attempt,
                          RandomSource& random) {
  const absl::Duration ceiling = BackoffCeiling(policy, attempt);
  const int64_t half_micros = absl::ToInt64Microseconds(ceiling) / 2;
  const uint64_t jitter = random.Uniform(static_cast<uint64_t>(half_micros) + 1);
  return absl::Microseconds(half_micros + static_cast<int64_t>(jitter));
}

}  // namespace hart
