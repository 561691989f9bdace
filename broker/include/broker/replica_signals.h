// Hints that other brokers sharing this broker's store (PostgreSQL
// replicas) committed work this broker may act on: feeds that grew, new
// deliveries or timers, escalation steps, seals. A hint may come late,
// twice or not at all (the broker polls as well, so a lost one only
// delays; a seal hint lost with the listener's connection is answered as
// "any referral may have been sealed"); one never carries referral data,
// only which feeds grew and to which sequence, or which referral ids were
// sealed.
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
  // These referrals were sealed (committed); empty: any may have been.
  // What this broker holds of their facts in memory must go.
  std::function<void(const std::vector<std::string>& referral_ids)> referrals_sealed;
};

// Following other replicas' commits; destroying it stops the handlers (when
// the destructor returns, none runs or will run).
class ReplicaSignals {
 public:
  virtual ~ReplicaSignals() = default;
};

}  // namespace hart
