// Where a backend keeps a ladder's step 1 until it is due.
//
// Every REFERRAL delivery gets an escalation ladder whose step 1 waits for
// its deadline, and almost every ladder is stopped by the partner's
// ACCEPTED before that. A timer row per delivery (with its indexes, then
// its update on ACCEPTED) was about a fifth of the rows an intake wrote. So
// a step-1 ladder timer written in the same transaction as its delivery is
// kept in the delivery row instead (its "ladder start": due time, base,
// reason, timer id). Claiming moves a due ladder start into the timers
// table first, as the same timer, so everything after step 1 is unchanged;
// an ACCEPTED clears it with the state change it makes anyway. Reads
// (PendingTimers, NextDueTime) see both places.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "broker/records.h"

namespace hart {

// Keys and values point into the caller's deliveries and timers, which must
// outlive it: an intake's split ran on the writer for every intake, and
// copying each id into a node of its own was 3 % of the writer's time.
struct SplitLadderStarts {
  // delivery_id -> its ladder start.
  absl::flat_hash_map<absl::string_view, const TimerRecord*> on_delivery;
  // Everything else, in the order given: stored as timer rows.
  std::vector<const TimerRecord*> in_table;

  const TimerRecord* For(absl::string_view delivery_id) const {
    auto it = on_delivery.find(delivery_id);
    return it == on_delivery.end() ? nullptr : it->second;
  }
};

// Splits the timers of one write: a never-claimed step-1 ladder timer of a
// delivery inserted by the same write goes on that delivery (the first such
// timer per delivery); any other timer goes to the timers table.
inline SplitLadderStarts SplitTimersForDeliveries(std::span<const DeliveryRecord> deliveries,
                                                  std::span<const TimerRecord> timers) {
  SplitLadderStarts split;
  absl::flat_hash_map<absl::string_view, const DeliveryRecord*> new_deliveries;
  new_deliveries.reserve(deliveries.size());
  for (const DeliveryRecord& d : deliveries) new_deliveries.emplace(d.delivery_id, &d);
  for (const TimerRecord& t : timers) {
    auto d = new_deliveries.find(t.delivery_id);
    const bool start = t.kind == TimerRecord::Kind::kLadder && t.step == 1 && t.lease == 0 &&
                       d != new_deliveries.end() && d->second->referral_id == t.referral_id &&
                       !split.on_delivery.contains(t.delivery_id);
    if (start) {
      split.on_delivery.emplace(t.delivery_id, &t);
    } else {
      split.in_table.push_back(&t);
    }
  }
  return split;
}

}  // namespace hart
