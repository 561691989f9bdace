// The feed heads a write transaction advances, held in memory while it is
// open and written once per agency just before it commits: a batch of 64
// intakes to the same five feeds writes five head rows, not 320 (each
// UPSERT ... RETURNING was ~6 % of the writer thread in `hart-bench submit`).
// Sequences stay gap-free and in commit order: they are taken under the
// write lock, the rows are written in the same transaction, and a rollback
// (whole, or one item's savepoint) takes the memory back with it.
//
// Thread safety: the writer's alone, under the store's write lock.
#pragma once

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "broker/store/sqlite/sqlite_db.h"

namespace hart::sqlite {

class TransactionFeedHeads {
 public:
  using Heads = absl::flat_hash_map<std::string, uint64_t>;

  // A write transaction begins: nothing advanced yet.
  void Begin() {
    advanced_.clear();
    open_ = true;
  }
  // The agency's next sequence: its head as stored, or as advanced in this
  // transaction, plus one. INTERNAL outside a transaction begun here.
  absl::StatusOr<uint64_t> Next(SqliteDb& db, const std::string& agency_id);
  // Writes every head advanced in this transaction (before its COMMIT).
  absl::Status Save(SqliteDb& db);
  // The transaction ended, committed or rolled back.
  void End() {
    advanced_.clear();
    open_ = false;
  }

  // One item's savepoint and its rollback.
  Heads Savepoint() const { return advanced_; }
  void RollBackTo(Heads savepoint) { advanced_ = std::move(savepoint); }

 private:
  Heads advanced_;  // agency -> the last sequence taken in this transaction
  bool open_ = false;
};

}  // namespace hart::sqlite
