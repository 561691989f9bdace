// SqliteBackend::InWriteTransaction, for the backend's own .cc files.
#pragma once

#include "broker/store/sqlite/sqlite_audit_rows.h"
#include "broker/store/sqlite/sqlite_backend.h"

namespace hart {

template <typename Body>
absl::Status SqliteBackend::InWriteTransaction(Body&& body) {
  absl::MutexLock lock(&db_->write_mu());
  // After a storage failure no write runs before the writer recovered.
  if (auto s = EnsureWriterHealthy(); !s.ok()) return s;
  sqlite::SqliteDb& db = db_->writer();
  if (auto s = db.Exec("BEGIN IMMEDIATE"); !s.ok()) return db_->OnWriteFailed(std::move(s));
  tree_.Begin();
  feed_heads_.Begin();
  delivery_counts_.Begin(db);
  absl::Status status = body(db);
  if (status.ok()) status = feed_heads_.Save(db);
  if (status.ok()) status = delivery_counts_.Save(db);
  if (status.ok()) {
    // The tree's state commits with the events that grew it.
    sqlite::SqliteAuditRows rows(db);
    status = tree_.SaveIfGrown(rows);
  }
  if (status.ok()) status = db.Exec("COMMIT");
  feed_heads_.End();
  delivery_counts_.End(db);
  if (!status.ok()) {
    // ROLLBACK fails harmlessly if SQLite already rolled back on its own.
    (void)db.Exec("ROLLBACK");
    tree_.RolledBack();
    // A failed write or fsync takes the writer out of service (never
    // acknowledged, never retried on it and trusted).
    return db_->OnWriteFailed(std::move(status));
  }
  tree_.Committed();
  return status;
}

}  // namespace hart
