// PostgresBackend: the operators' snapshot (metrics). Each figure reads an
// index or counter of schema version 4 (pg_schema.cc), never the whole
// deliveries table: counts by state are delivery_counts plus the changes
// not folded in yet, the rest are index-only scans of partial indexes over
// open work. Before reading, the changes writers appended meanwhile are
// folded into delivery_counts, by one replica at a time.
#include "absl/strings/str_cat.h"
#include "broker/common/status_macros.h"
#include "broker/store/postgres/pg_transaction.h"

namespace hart {

namespace {

// pg_try_advisory_xact_lock key of the fold: "HARTCNT" in ASCII.
constexpr int64_t kFoldLock = 0x48415254434E54;

// Moves every committed row of delivery_count_changes into delivery_counts
// in one transaction, unless another replica is folding right now (its
// fold takes the same rows; this one's next call takes what is left). The
// DELETE sees only committed changes: those of writers still running stay
// for the next fold.
absl::Status FoldDeliveryCounts(pg::PgConn& conn) {
  HART_RETURN_IF_ERROR(conn.Defer(pg::kBegin, {}, /*prepare=*/false));
  absl::Status status = [&]() -> absl::Status {
    HART_ASSIGN_OR_RETURN(locked,
                          conn.Query("SELECT pg_try_advisory_xact_lock($1)",
                                     pg::PgParams().Int(kFoldLock)));
    if (!locked.Bool(0, 0)) return absl::OkStatus();
    return conn.Exec(
        "WITH folded AS (DELETE FROM delivery_count_changes "
        "RETURNING state, agency_kind, kind, delta) "
        "INSERT INTO delivery_counts (state, agency_kind, kind, n) "
        "SELECT state, agency_kind, kind, SUM(delta) FROM folded "
        "GROUP BY state, agency_kind, kind "
        "ON CONFLICT (state, agency_kind, kind) DO UPDATE SET n = delivery_counts.n + EXCLUDED.n");
  }();
  if (status.ok()) status = pg::Commit(conn);
  if (!status.ok()) pg::Rollback(conn);
  return status;
}

// Rows of (agency_kind, count) into `out`.
void CountsByKind(const pg::PgResult& rows, std::map<v1::AgencyKind, uint64_t>& out) {
  for (int r = 0; r < rows.rows(); ++r) {
    out[static_cast<v1::AgencyKind>(rows.Int(r, 0))] = static_cast<uint64_t>(rows.Int(r, 1));
  }
}

// `stopped` is asked before each statement: the server ignores a cancel
// that arrives between two (pg_stoppable_reads.h).
absl::StatusOr<OpsSnapshot> ReadSnapshot(pg::PgConn& conn, absl::Time now,
                                         const pg::StoppableReads& reads) {
  auto unless_stopped = [&reads] {
    return reads.stopped() ? OpsSnapshotReadsStopped() : absl::OkStatus();
  };
  OpsSnapshot snapshot;
  HART_RETURN_IF_ERROR(unless_stopped());
  HART_ASSIGN_OR_RETURN(groups, conn.Query(
      "SELECT state, agency_kind, kind, SUM(n) FROM ("
      "SELECT state, agency_kind, kind, n FROM delivery_counts UNION ALL "
      "SELECT state, agency_kind, kind, delta FROM delivery_count_changes) c "
      "GROUP BY state, agency_kind, kind HAVING SUM(n) <> 0"));
  for (int r = 0; r < groups.rows(); ++r) {
    const OpsSnapshot::DeliveryGroup group{static_cast<v1::DeliveryState>(groups.Int(r, 0)),
                                           static_cast<v1::AgencyKind>(groups.Int(r, 1)),
                                           static_cast<v1::MessageKind>(groups.Int(r, 2))};
    snapshot.deliveries[group] = static_cast<uint64_t>(groups.Int(r, 3));
  }
  HART_RETURN_IF_ERROR(unless_stopped());
  // IsOverdue (broker/overdue.h) at $1, within deliveries_open_referrals
  // (its WHERE is repeated so the planner may use it). tests/store holds
  // it to IsOverdue.
  HART_ASSIGN_OR_RETURN(overdue, conn.Query(
      absl::StrCat("SELECT agency_kind, COUNT(*) FROM deliveries "
                   "WHERE kind = 1 AND state <> 4 AND redelivered_as = '' AND "
                   "(ack_deadline <= $1 OR (delivery_deadline <= $1 AND state NOT IN (",
                   int64_t{v1::DELIVERED}, ", ", int64_t{v1::DECLINED},
                   "))) GROUP BY agency_kind"),
      pg::PgParams().Micros(now)));
  CountsByKind(overdue, snapshot.overdue);
  HART_RETURN_IF_ERROR(unless_stopped());
  HART_ASSIGN_OR_RETURN(dead, conn.Query(
      "SELECT agency_kind, COUNT(*) FROM deliveries WHERE state = 6 AND redelivered_as = '' "
      "GROUP BY agency_kind"));
  CountsByKind(dead, snapshot.dead_letters);
  HART_RETURN_IF_ERROR(unless_stopped());
  HART_ASSIGN_OR_RETURN(summary, conn.Query(
      "SELECT (SELECT MIN(created_at) FROM deliveries WHERE state IN (1, 2)), "
      "(SELECT MAX(idx) FROM audit_events), "
      "(SELECT at FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1)"));
  if (summary.rows() != 1) {
    return absl::InternalError("the ops snapshot's summary query returned no row");
  }
  snapshot.oldest_undelivered_created_at = summary.OptTime(0, 0);
  snapshot.audit_tree_size = static_cast<uint64_t>(summary.OptInt(0, 1).value_or(0));
  snapshot.last_checkpoint_at = summary.OptTime(0, 2);
  return snapshot;
}

}  // namespace

absl::StatusOr<OpsSnapshot> PostgresBackend::ReadOpsSnapshot(absl::Time now) {
  if (ops_reads_.stopped()) return OpsSnapshotReadsStopped();
  HART_ASSIGN_OR_RETURN(lease, pool_->Acquire());
  pg::PgConn& conn = lease.conn();
  // Ends before the lease: a stop cancels this read's statements until then.
  HART_ASSIGN_OR_RETURN(stoppable, ops_reads_.Begin(conn));
  absl::StatusOr<OpsSnapshot> snapshot = [&]() -> absl::StatusOr<OpsSnapshot> {
    HART_RETURN_IF_ERROR(FoldDeliveryCounts(conn));
    if (ops_reads_.stopped()) return OpsSnapshotReadsStopped();
    // One snapshot for every figure (a read-only transaction takes no lock
    // a writer waits on).
    HART_RETURN_IF_ERROR(conn.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    absl::StatusOr<OpsSnapshot> read = ReadSnapshot(conn, now, ops_reads_);
    if (!read.ok()) {
      pg::Rollback(conn);
      return read.status();
    }
    HART_RETURN_IF_ERROR(conn.Exec("COMMIT"));
    return read;
  }();
  // A statement the stop cancelled fails as any other would.
  if (!snapshot.ok() && ops_reads_.stopped()) return OpsSnapshotReadsStopped();
  return snapshot;
}

void PostgresBackend::StopOpsSnapshotReads() { ops_reads_.Stop(); }

}  // namespace hart
