// How a backend places the deliveries an intake puts on their feeds.
//
// Such a delivery is created by the same transaction, so it needs none of
// the general placement's lookups (is it known, is it placed already) and
// no update of its row afterwards: its feed sequence is taken before the
// delivery rows are written and the row is inserted already placed, with
// its transport reference. The audit leaf and feed event follow in the
// order of the intake's feed appends, as before.
#pragma once

#include <string>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/status/statusor.h"
#include "broker/feed/feed_reference.h"
#include "broker/records.h"

namespace hart {

struct IntakePlacement {
  const FeedAppend* append;
  // 0 until the backend takes it; stays 0 for a delivery the intake did not
  // create (placed by the general path, which looks it up).
  uint64_t sequence = 0;
  std::string reference;  // feed::FormatReference(agency, sequence)
};

// One entry per feed append of `item`, in order, each delivery the intake
// creates given its sequence by `next_sequence(agency_id)` (the backend's
// head bump, returning StatusOr of an integer).
template <typename NextSequence>
absl::StatusOr<std::vector<IntakePlacement>> TakeIntakeSequences(const NewReferral& item,
                                                                  NextSequence next_sequence) {
  std::vector<IntakePlacement> placements;
  placements.reserve(item.feed_appends.size());
  for (const FeedAppend& a : item.feed_appends) {
    IntakePlacement& p = placements.emplace_back(IntakePlacement{&a});
    const bool created_here = absl::c_any_of(
        item.deliveries, [&](const DeliveryRecord& d) { return d.delivery_id == a.delivery_id; });
    if (!created_here) continue;
    auto sequence = next_sequence(a.agency_id);
    if (!sequence.ok()) return sequence.status();
    p.sequence = static_cast<uint64_t>(*sequence);
    p.reference = feed::FormatReference(a.agency_id, p.sequence);
  }
  return placements;
}

// The transport reference to insert with `delivery_id`, or nullptr.
inline const std::string* PlacedReference(const std::vector<IntakePlacement>& placements,
                                          const std::string& delivery_id) {
  for (const IntakePlacement& p : placements) {
    if (p.sequence != 0 && p.append->delivery_id == delivery_id) return &p.reference;
  }
  return nullptr;
}

}  // namespace hart
