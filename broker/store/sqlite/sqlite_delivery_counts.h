// The delivery counts a write transaction changes (delivery_counts: one row
// per state, agency kind and message kind, for the operations snapshot),
// gathered in memory from SQLite's pre-update hook and written once per
// changed count just before the transaction commits. Until schema 15 three
// triggers kept them, two statements per state change: 8 % of the writer
// thread in `hart-bench fanout` (issue 15). The hook sees every row the
// writer inserts, updates or deletes in `deliveries`, whatever statement
// does it (multi-row updates included), as the triggers did; a rollback
// (whole, or one item's savepoint) takes the memory back with it.
//
// Every write to `deliveries` runs in SqliteBackend::InWriteTransaction,
// which begins and ends this; the hook is installed only in between.
//
// Thread safety: the writer's alone, under the store's write lock.
#pragma once

#include <cstdint>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "broker/store/sqlite/sqlite_db.h"

namespace hart::sqlite {

class TransactionDeliveryCounts {
 public:
  // (state, agency_kind, kind) -> change in this transaction.
  using Key = std::tuple<int64_t, int64_t, int64_t>;
  using Changes = absl::flat_hash_map<Key, int64_t>;

  // FAILED_PRECONDITION if the SQLite library was built without the
  // pre-update hook (Debian's has it); the columns' positions otherwise.
  absl::Status Prepare(SqliteDb& db);

  // A write transaction begins on `db`: nothing changed yet, the hook on.
  void Begin(SqliteDb& db);
  // Writes every count this transaction changed (before its COMMIT).
  absl::Status Save(SqliteDb& db);
  // The transaction ended, committed or rolled back: the hook off.
  void End(SqliteDb& db);

  // One item's savepoint and its rollback.
  Changes Savepoint() const { return changes_; }
  void RollBackTo(Changes savepoint) { changes_ = std::move(savepoint); }

 private:
  static void OnRowChange(void* self, sqlite3* db, int op, const char* schema,
                          const char* table, sqlite3_int64 old_rowid, sqlite3_int64 new_rowid);
  // The row's key before (`old_row`) or after the change.
  Key RowKey(sqlite3* db, bool old_row) const;

  // Column positions in `deliveries` (ALTER TABLE added `kind` at the end).
  int state_column_ = -1;
  int agency_kind_column_ = -1;
  int kind_column_ = -1;
  Changes changes_;
};

}  // namespace hart::sqlite
