// Hints that other brokers sharing this broker's store (PostgreSQL
// replicas) committed work this broker may act on: feeds that grew, new
// deliveries or timers, escalation steps. A hint may come late, twice or
// not at all (the broker polls as well, so a lost one only delays); one
// never carries data, only which feeds to look at.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace hart {

// Called on the follower's own thread: wake something up and return, never
// block (no store calls).
struct ReplicaSignalHandlers {
  // Agencies whose feed grew; empty: any feed may have grown.
  std::function<void(const std::vector<std::string>& agencies)> feeds_grew;
  // Deliveries or timers were added: claim due work now.
  std::function<void()> work_added;
  // Escalation events were appended.
  std::function<void()> escalated;
};

// Following other replicas' commits; destroying it stops the handlers (when
// the destructor returns, none runs or will run).
class ReplicaSignals {
 public:
  virtual ~ReplicaSignals() = default;
};

}  // namespace hart
