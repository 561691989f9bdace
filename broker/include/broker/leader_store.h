// The leader lease: work that must run once per cluster (signing audit
// checkpoints) runs only on the broker holding it. Brokers sharing a store
// each try to take or renew it on every maintenance pass; a leader that
// stops renewing (killed, paused, cut off) loses it when it expires, and
// the next broker to try takes over. See store.h and store_errors.h.
#pragma once

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace hart {

class LeaderStore {
 public:
  virtual ~LeaderStore() = default;

  // Takes the lease for this store's broker_id until `until` if nobody holds
  // it, its holder's lease expired at `now`, or this broker already holds
  // it (renewal). True if this broker holds it afterwards. A backend only
  // one broker can open (SQLite) always answers true.
  virtual absl::StatusOr<bool> TryLead(absl::Time now, absl::Time until) = 0;
};

}  // namespace hart
