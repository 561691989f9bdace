// The rows the audit tree needs, on the SQLite writer inside its open
// transaction (audit_events, audit_subtrees, audit_tree).
#pragma once

#include "broker/audit/audit_tree_writer.h"
#include "broker/store/sqlite/sqlite_db.h"

namespace hart::sqlite {

class SqliteAuditRows final : public audit::AuditTreeRows {
 public:
  explicit SqliteAuditRows(SqliteDb& db) : db_(db) {}
  absl::Status InsertLeaf(uint64_t index, const AuditEvent& event,
                          const std::string& leaf_hash) override;
  absl::Status PutSubtree(uint32_t height, uint64_t index, const std::string& hash) override;
  absl::Status SaveTreeState(uint64_t size, const std::string& compact_range) override;

 private:
  SqliteDb& db_;
};

// audit_subtrees' key (schema 17) for the subtree of 2^height leaves that
// starts at leaf index * 2^height: the leaf just after it.
inline int64_t SubtreeLeafEnd(uint32_t height, uint64_t index) {
  return static_cast<int64_t>((index + 1) << height);
}

// The stored tree state; nullopt if none was saved yet (a store from before
// schema 3). DATA_LOSS if it does not parse.
absl::StatusOr<std::optional<audit::CompactRange>> LoadTreeState(SqliteDb& db);

}  // namespace hart::sqlite
