// Hints that other brokers sharing this broker's store (PostgreSQL
// replicas) committed work this broker may act on: feeds that grew, new
// deliveries or timers, escalation steps. A hint may come late, twice or
// not at all (the broker polls as well, so a lost one only delays); one
// never carries referral data, only which feeds grew and to which sequence.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace hart {

// An agency's feed grew in another replica's commit; `head` is the feed's
// last sequence as of that commit when the hint carries it (the follower
// then need not read it), unset when it must be read.
struct FeedGrowth {
  std::string agency;
  std::optional<uint64_t> head;
  bool operator==(const FeedGrowth&) const = default;
};

// Called on the follower's own thread: wake something up and return, never
// block (no store calls).
struct ReplicaSignalHandlers {
  // Feeds that grew; empty: any feed may have grown.
  std::function<void(const std::vector<FeedGrowth>& feeds)> feeds_grew;
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
