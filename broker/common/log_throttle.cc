#include "broker/common/log_throttle.h"

namespace hart {

std::optional<uint64_t> LogThrottle::Admit(const std::string& key) {
  absl::MutexLock lock(&mu_);
  // Read under the lock: two refusals racing must not look like a clock
  // stepped back.
  const absl::Time now = clock_.Now();
  auto it = seen_.find(key);
  if (it == seen_.end()) {
    if (seen_.size() >= max_keys_) ForgetLocked(now);
    seen_.emplace(key, Seen{now, 0});
    return 0;
  }
  Seen& seen = it->second;
  // A clock stepped back counts as a period passed: a line too many, not a
  // silence as long as the step.
  if (now - seen.last_line < period_ && now >= seen.last_line) {
    ++seen.held;
    return std::nullopt;
  }
  const uint64_t held = seen.held;
  seen = Seen{now, 0};
  return held;
}

void LogThrottle::ForgetLocked(absl::Time now) {
  absl::erase_if(seen_, [&](const auto& entry) {
    return now - entry.second.last_line >= period_;
  });
  if (seen_.size() >= max_keys_) seen_.clear();
}

}  // namespace hart
