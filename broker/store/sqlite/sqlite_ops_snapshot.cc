// SqliteBackend: the operators' snapshot (metrics), in one read
// transaction. Each figure reads an index or counter of schema version 10
// (sqlite_schema.cc), never the whole deliveries table; INDEXED BY pins
// each plan, since SQLite without statistics may pick another index that
// reads more.
#include "absl/strings/str_cat.h"
#include "broker/common/status_macros.h"
#include "broker/store/sqlite/sqlite_backend.h"
#include "broker/store/sqlite/sqlite_interrupt.h"
#include "broker/store/sqlite/sqlite_read_sql.h"

namespace hart {

using sqlite::SqliteDb;

namespace {

// Rows of (agency_kind, count) into `out`.
absl::Status ReadCountsByKind(SqliteDb& db, const std::string& sql,
                              std::optional<int64_t> now,
                              std::map<v1::AgencyKind, uint64_t>& out) {
  HART_ASSIGN_OR_RETURN(stmt, db.Prepare(sql));
  if (now) stmt->Bind(1, *now);
  for (;;) {
    HART_ASSIGN_OR_RETURN(row, stmt->Step());
    if (!row) return absl::OkStatus();
    out[static_cast<v1::AgencyKind>(stmt->Int(0))] = static_cast<uint64_t>(stmt->Int(1));
  }
}

absl::StatusOr<OpsSnapshot> ReadSnapshot(SqliteDb& db, absl::Time now) {
  OpsSnapshot snapshot;
  {
    HART_ASSIGN_OR_RETURN(stmt, db.Prepare(sqlite::read_sql::OpsDeliveryCounts()));
    for (;;) {
      HART_ASSIGN_OR_RETURN(row, stmt->Step());
      if (!row) break;
      const OpsSnapshot::DeliveryGroup group{static_cast<v1::DeliveryState>(stmt->Int(0)),
                                             static_cast<v1::AgencyKind>(stmt->Int(1)),
                                             static_cast<v1::MessageKind>(stmt->Int(2))};
      snapshot.deliveries[group] = static_cast<uint64_t>(stmt->Int(3));
    }
  }
  HART_RETURN_IF_ERROR(
      ReadCountsByKind(db, sqlite::read_sql::OpsOverdueByKind(), absl::ToUnixMicros(now), snapshot.overdue));
  HART_RETURN_IF_ERROR(
      ReadCountsByKind(db, sqlite::read_sql::OpsDeadLettersByKind(), std::nullopt, snapshot.dead_letters));
  HART_ASSIGN_OR_RETURN(stmt, db.Prepare(sqlite::read_sql::OpsSummary()));
  HART_ASSIGN_OR_RETURN(row, stmt->Step());
  if (!row) return absl::InternalError("the ops snapshot's summary query returned no row");
  if (!stmt->IsNull(0)) snapshot.oldest_undelivered_created_at = absl::FromUnixMicros(stmt->Int(0));
  snapshot.audit_tree_size = stmt->IsNull(1) ? 0 : static_cast<uint64_t>(stmt->Int(1));
  if (!stmt->IsNull(2)) snapshot.last_checkpoint_at = absl::FromUnixMicros(stmt->Int(2));
  return snapshot;
}

}  // namespace

absl::StatusOr<OpsSnapshot> SqliteBackend::ReadOpsSnapshot(absl::Time now) {
  if (ops_reads_stopped_.load(std::memory_order_acquire)) return OpsSnapshotReadsStopped();
  HART_ASSIGN_OR_RETURN(reader, db_->AcquireReader());
  // Every figure as of the same commit.
  absl::StatusOr<OpsSnapshot> snapshot = absl::InternalError("not read");
  const absl::Status read = reader.InSnapshot([&](SqliteDb& db) {
    // Off before the ROLLBACK and before the pool's next reader.
    const sqlite::InterruptOnceStopped interrupt(db.raw(), ops_reads_stopped_);
    snapshot = ReadSnapshot(db, now);
    return snapshot.status();
  });
  if (ops_reads_stopped_.load(std::memory_order_acquire)) return OpsSnapshotReadsStopped();
  HART_RETURN_IF_ERROR(read);
  return snapshot;
}

void SqliteBackend::StopOpsSnapshotReads() {
  ops_reads_stopped_.store(true, std::memory_order_release);
}

}  // namespace hart
