// The SQLite writer after the storage failed under it, PostgreSQL's
// "fsyncgate" lesson applied: after a failed fsync (or write) nothing that
// connection wrote is trusted, and the same write is never retried on it
// and believed. Linux reports a failed writeback once and may mark the
// pages clean, so an fsync retried later can succeed while the data never
// reached the disk.
//
// So the failed transaction is never acknowledged (its callers got an
// error), and the writer goes out of service: every write is refused with
// the client status until a fresh connection proves the storage writes and
// flushes again (ProveDurable: a write and fsync of the log, a checkpoint
// that writes and fsyncs the database and truncates the log). SQLite then
// works from what the committed log and the database file hold; the failed
// transaction's frames, beyond the last commit, are cut off the log. The
// audit tree kept in memory is compared with the one stored before writes
// resume. Recovery is tried at the next write (the readiness probe makes
// one every interval), so the broker comes back by itself once the disk
// does; staying failed until a restart would add nothing, since a restart
// opens the same files the same way.
#include "absl/strings/str_cat.h"
#include "broker/common/logging.h"
#include "broker/store/sqlite/sqlite_connections.h"
#include "broker/store/sqlite/sqlite_migrations.h"
#include "broker/store/sqlite/sqlite_storage_failure.h"
#include "broker/store/sqlite/sqlite_transaction.h"

namespace hart {
namespace {

auto Log() { return Logger("store"); }

}  // namespace

namespace sqlite {

absl::Status SqliteConnections::OnWriteFailed(absl::Status status) {
  if (!IsStorageFailure(status)) return status;
  if (writer_failure_.ok()) {
    // The cause is SQLite's text (no bound value): for the operator only.
    Log()->error("event=store_writer_out_of_service code={} cause='{}'",
                 absl::StatusCodeToString(status.code()), std::string(status.message()));
    writer_failure_ = status;
  }
  return ClientStatusForStorageFailure(status);
}

absl::Status SqliteConnections::ReopenWriter() {
  auto fresh = OpenWriter(path_, wal_);
  if (!fresh.ok()) return ClientStatusForStorageFailure(writer_failure_);
  // The failed connection goes first: its cache and state are not trusted.
  sqlite3_wal_hook(writer_->raw(), nullptr, nullptr);
  writer_ = std::move(*fresh);
  sqlite3_wal_hook(writer_->raw(), &SqliteConnections::OnCommit, this);
  absl::Status proven;
  {
    absl::MutexLock no_background_checkpoint(&checkpoint_run_mu_);
    proven = ProveDurable(*writer_);
  }
  if (!proven.ok()) {
    Log()->warn("event=store_writer_still_failing code={}",
                absl::StatusCodeToString(proven.code()));
    // The newest cause decides what callers are told (a disk that was
    // failing and is now full says so).
    return ClientStatusForStorageFailure(IsStorageFailure(proven) ? proven : writer_failure_);
  }
  return absl::OkStatus();
}

void SqliteConnections::WriterRecovered() {
  Log()->info("event=store_writer_back_in_service");
  writer_failure_ = absl::OkStatus();
}

}  // namespace sqlite

absl::Status SqliteBackend::EnsureWriterHealthy() {
  if (!db_->writer_failed()) return absl::OkStatus();
  if (auto s = db_->ReopenWriter(); !s.ok()) return s;
  // The tree as stored must be the tree as committed in memory: a failed
  // commit rolled the memory back, and nothing of it may be on disk.
  auto stored = sqlite::LoadOrRebuildAuditTree(db_->writer());
  const AuditTreeHead head = tree_.CommittedHead();
  if (!stored.ok() || stored->size() != head.size || stored->RootHash() != head.root_hash) {
    Log()->error("event=store_audit_tree_mismatch_after_failure stored_size={} memory_size={}",
                 stored.ok() ? stored->size() : 0, head.size);
    return absl::DataLossError(
        "the audit tree stored after a storage failure differs from the one committed; "
        "restart the broker");
  }
  db_->WriterRecovered();
  return absl::OkStatus();
}

}  // namespace hart
