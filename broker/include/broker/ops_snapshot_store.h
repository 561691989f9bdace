// What operators watch, read from the store in one call: the numbers behind
// the broker's store-derived metrics (broker/metrics/). Counts and times
// only, never an id. See store.h and store_errors.h.
//
// Cost: the metrics refresher calls ReadOpsSnapshot every few seconds on a
// store of millions of deliveries, so a backend must answer without reading
// every delivery: counts by state come from counters kept with each write,
// the other figures from indexes over the open deliveries only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <tuple>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/records.h"

namespace hart {

struct OpsSnapshot {
  // Deliveries stored, by (state, agency kind, message kind); groups with
  // no delivery are absent.
  using DeliveryGroup = std::tuple<v1::DeliveryState, v1::AgencyKind, v1::MessageKind>;
  std::map<DeliveryGroup, uint64_t> deliveries;
  // Deliveries not yet at their partner (PENDING or IN_FLIGHT): the oldest
  // one's creation time; unset when there is none.
  std::optional<absl::Time> oldest_undelivered_created_at;
  // Deliveries overdue at `now` (IsOverdue, broker/overdue.h), by agency
  // kind; kinds with none are absent.
  std::map<v1::AgencyKind, uint64_t> overdue;
  // Dead letters awaiting a supervisor (DEAD and not redelivered), by
  // agency kind; kinds with none are absent.
  std::map<v1::AgencyKind, uint64_t> dead_letters;
  // Audit events in the log (the tree's size).
  uint64_t audit_tree_size = 0;
  // When the latest signed checkpoint was made; unset before the first.
  std::optional<absl::Time> last_checkpoint_at;
};

class OpsSnapshotStore {
 public:
  virtual ~OpsSnapshotStore() = default;

  // Every figure as of one committed state, "overdue" evaluated at `now`.
  virtual absl::StatusOr<OpsSnapshot> ReadOpsSnapshot(absl::Time now) = 0;
  // The broker is stopping: every later ReadOpsSnapshot answers
  // OpsSnapshotReadsStopped() at once, and one in progress ends soon with
  // it too (SQLite interrupts it, PostgreSQL's server cancels it). Counting
  // the overdue deliveries of a backlog of millions takes seconds (6 s on
  // a cold SQLite store of a million referrals), and a stop waiting for it
  // outran its drain timeout. For good: the store's one refresher calls it
  // as it stops. Safe from any thread. A backend whose reads are all quick
  // may ignore it.
  virtual void StopOpsSnapshotReads() {}
};

// What ReadOpsSnapshot answers once StopOpsSnapshotReads was called.
inline absl::Status OpsSnapshotReadsStopped() {
  return absl::CancelledError("the broker is stopping: the operators' snapshot was not read");
}

}  // namespace hart
