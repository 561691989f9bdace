// The rows the audit tree needs, on a PostgreSQL connection inside its open
// write transaction (audit_events, audit_subtrees, audit_tree).
#pragma once

#include "broker/audit/audit_tree_writer.h"
#include "broker/store/postgres/pg_conn.h"

namespace hart::pg {

class PgAuditRows final : public audit::AuditTreeRows {
 public:
  explicit PgAuditRows(PgConn& conn) : conn_(conn) {}
  absl::Status InsertLeaf(uint64_t index, const AuditEvent& event,
                          const std::string& leaf_hash) override;
  absl::Status PutSubtree(uint32_t height, uint64_t index, const std::string& hash) override;
  absl::Status SaveTreeState(uint64_t size, const std::string& compact_range) override;

 private:
  PgConn& conn_;
};

// The tree's state from a row of (size, compact_range) read from
// audit_tree. DATA_LOSS if it is missing or does not parse.
absl::StatusOr<audit::CompactRange> TreeStateFrom(const PgResult& row);
// The tree's committed state, without locking (for the head).
absl::StatusOr<audit::CompactRange> ReadTreeState(PgConn& conn);

}  // namespace hart::pg
