// Acknowledgements in one statement: every compare-and-set, ack row and
// ladder stop of up to 64 acks (a write batch's first pass,
// PgWrite::optimistic), with one run of the deliveries' count trigger,
// instead of a statement and a trigger run each; or one ack on its own
// (RunCounted). Every statement of a write transaction runs while it holds
// the lock all replicas' writers wait for.
#pragma once

#include <cstddef>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker/records.h"
#include "broker/store/postgres/pg_conn.h"

namespace hart::pg {

class PgAckBatch {
 public:
  // Whether an ack of `delivery_id` waits here: a second one must be sent
  // after it (one UPDATE changes a row once, so it would not see the first).
  bool Holds(const std::string& delivery_id) const { return ids_.contains(delivery_id); }
  // Adds an ack. One that starts a ladder goes in a batch of its own
  // (pg::TriggerLadder must read the row after it).
  void Add(const AckWrite& write);
  bool Full() const { return ids_.size() >= 64 || bytes_ >= 16 * 1024; }
  // Defers the statement for what was added, if anything, and empties the
  // batch. When the statement runs, a compare-and-set that matched no row
  // fails it (hart_expect_one): the transaction then rolls back and the
  // write batch reruns item by item, where each ack is checked on its own.
  absl::Status Defer(PgConn& conn);
  // Runs the statement for what was added now, after what was deferred,
  // and empties the batch: how many compare-and-sets took (a lost one
  // writes nothing and fails nothing).
  absl::StatusOr<int64_t> RunCounted(PgConn& conn);

 private:
  PgParams Params() const;

  std::set<std::string> ids_;
  size_t bytes_ = 0;  // about what the statement's parameters weigh
  ArrayParam delivery_ids_, expected_, new_states_, delivered_, business_, ats_, stops_, kinds_,
      notes_, actors_;
};

}  // namespace hart::pg
