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
#include "broker/records.h"

namespace hart {

struct IntakePlacement {
  const FeedAppend* append;
  // 0 until the backend takes it; stays 0 for a delivery the intake did not
  // create (placed by the general path, which looks it up).
  uint64_t sequence = 0;
  std::string reference;  // feed::FormatReference(agency, sequence)
};

// One entry per feed append of `item`, in order.
inline std::vector<IntakePlacement> PlanIntakePlacements(const NewReferral& item) {
  std::vector<IntakePlacement> placements;
  placements.reserve(item.feed_appends.size());
  for (const FeedAppend& a : item.feed_appends) placements.push_back(IntakePlacement{&a});
  return placements;
}

inline bool CreatedByIntake(const NewReferral& item, const FeedAppend& a) {
  return absl::c_any_of(item.deliveries,
                        [&](const DeliveryRecord& d) { return d.delivery_id == a.delivery_id; });
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
