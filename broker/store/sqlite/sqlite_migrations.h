// Data migrations of the SQLite backend (schema migrations are in
// sqlite_schema.cc): work an upgrade needs beyond ALTER TABLE.
#pragma once

#include "absl/status/statusor.h"
#include "broker/audit/merkle_tree.h"
#include "broker/store/sqlite/sqlite_db.h"

namespace hart::sqlite {

// The audit tree as stored; for a store written before schema 3 (events
// without leaf hashes), hashes every existing event again in index order
// through audit::AuditTreeWriter and stores the tree, in one transaction.
absl::StatusOr<audit::CompactRange> LoadOrRebuildAuditTree(SqliteDb& db);

}  // namespace hart::sqlite
