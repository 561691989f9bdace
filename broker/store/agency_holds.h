// What both backends do with AgencyHold (outbox_store.h): which agencies a
// claim at `now` skips, and when a held agency's backlog is next due. They
// ask per agency only while a hold is active; otherwise one index range
// over every PENDING delivery answers, as before holds existed.
#pragma once

#include <algorithm>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "broker/outbox_store.h"

namespace hart {

// The holds still in force at `now`.
inline std::vector<AgencyHold> ActiveHolds(std::span<const AgencyHold> holds, absl::Time now) {
  std::vector<AgencyHold> active;
  for (const AgencyHold& h : holds) {
    if (h.until > now) active.push_back(h);
  }
  return active;
}

inline const AgencyHold* FindHold(std::span<const AgencyHold> holds,
                                  const std::string& agency_id) {
  auto it = std::find_if(holds.begin(), holds.end(),
                         [&](const AgencyHold& h) { return h.agency_id == agency_id; });
  return it == holds.end() ? nullptr : &*it;
}

// When a PENDING delivery to `agency_id` due at `due` is claimable under
// `holds`: not before its agency's hold ends.
inline absl::Time ClaimableAt(absl::Time due, const std::string& agency_id,
                              std::span<const AgencyHold> holds) {
  const AgencyHold* hold = FindHold(holds, agency_id);
  return hold == nullptr ? due : std::max(due, hold->until);
}

// Each agency with PENDING deliveries and its earliest next_attempt_at.
using PendingByAgency = std::vector<std::pair<std::string, absl::Time>>;

// The earliest time one of `pending` is claimable under `holds`.
inline std::optional<absl::Time> EarliestClaimable(const PendingByAgency& pending,
                                                   std::span<const AgencyHold> holds) {
  std::optional<absl::Time> earliest;
  for (const auto& [agency_id, due] : pending) {
    const absl::Time at = ClaimableAt(due, agency_id, holds);
    if (!earliest || at < *earliest) earliest = at;
  }
  return earliest;
}

inline std::optional<absl::Time> Earlier(std::optional<absl::Time> a,
                                         std::optional<absl::Time> b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

}  // namespace hart
