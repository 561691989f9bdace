// The rows the audit tree needs, on a PostgreSQL connection inside its open
// write transaction (audit_events, audit_subtrees, audit_tree).
#pragma once

#include "broker/audit/audit_tree_writer.h"
#include "broker/store/postgres/pg_conn.h"

namespace hart::pg {

// The leaves a write transaction appends, inserted by one statement
// (unnest of arrays) when it is about to commit, not one INSERT each: an
// intake appends about ten, and every statement is run while the
// transaction holds the lock all replicas' writers wait for.
class PgLeafBatch {
 public:
  void Add(uint64_t index, const AuditEvent& event, const std::string& leaf_hash);
  // Defers the INSERT of what was added, if anything, and empties the batch.
  absl::Status Defer(PgConn& conn);
  // Drops what was added (its item is rolled back to a savepoint).
  void Clear() { *this = PgLeafBatch(); }
  size_t size() const { return count_; }

 private:
  ArrayParam indexes_, ats_, actors_, actions_, referrals_, deliveries_, payloads_, details_,
      hashes_;
  size_t count_ = 0;
};

class PgAuditRows final : public audit::AuditTreeRows {
 public:
  // Leaves go to `leaves` (written by its Defer), subtrees and the tree's
  // state to `conn`'s deferred statements.
  PgAuditRows(PgConn& conn, PgLeafBatch& leaves) : conn_(conn), leaves_(leaves) {}
  absl::Status InsertLeaf(uint64_t index, const AuditEvent& event,
                          const std::string& leaf_hash) override;
  absl::Status PutSubtree(uint32_t height, uint64_t index, const std::string& hash) override;
  absl::Status SaveTreeState(uint64_t size, const std::string& compact_range) override;

 private:
  PgConn& conn_;
  PgLeafBatch& leaves_;
};

// The tree's state from a row of (size, compact_range) read from
// audit_tree. DATA_LOSS if it is missing or does not parse.
absl::StatusOr<audit::CompactRange> TreeStateFrom(const PgResult& row);
// The tree's committed state, without locking (for the head).
absl::StatusOr<audit::CompactRange> ReadTreeState(PgConn& conn);

}  // namespace hart::pg
