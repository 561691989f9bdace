// At most one log line per key (an identity, say) per period, with a count
// of the lines held back since the last one: a partner far over its rate
// limit, refused a thousand times a second, costs a line every period, not
// a line a call (a flood of refusals must not become a flood of disk
// writes).
//
// Thread safety: safe to use concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/clock.h"

namespace hart {

class LogThrottle {
 public:
  // `clock` must outlive the throttle. Beyond `max_keys` keys, the ones
  // quiet for a period are forgotten (and, if that is not enough, all),
  // with the count they held back: it is reported only by a key's next
  // line.
  LogThrottle(const Clock& clock, absl::Duration period, size_t max_keys = 4096)
      : clock_(clock), period_(period), max_keys_(max_keys) {}

  // The number of lines held back for `key` since its last line, when a
  // line is due now; nullopt when this one is to be held back.
  std::optional<uint64_t> Admit(const std::string& key);

 private:
  struct Seen {
    absl::Time last_line;
    uint64_t held = 0;
  };

  void ForgetLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock& clock_;
  const absl::Duration period_;
  const size_t max_keys_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Seen> seen_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hart
