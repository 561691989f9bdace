// PostgresBackend's transaction templates, for the backend's own .cc files.
#pragma once

#include "broker/common/status_macros.h"
#include "broker/store/postgres/pg_audit_rows.h"
#include "broker/store/postgres/pg_backend.h"
#include "broker/store/postgres/pg_change_channels.h"

namespace hart {

namespace pg {

// COMMIT, unless a statement failed inside the transaction without its
// error reaching here: PostgreSQL would answer such a COMMIT with ROLLBACK
// and a success status. What was deferred, then `notifications` (NOTIFY
// is delivered only if its transaction commits), then the COMMIT go in one
// round trip; if any fails, the COMMIT does not run.
inline absl::Status Commit(PgConn& conn, const std::vector<Notification>& notifications = {}) {
  if (PQtransactionStatus(conn.raw()) == PQTRANS_INERROR) {
    return absl::InternalError("a statement failed inside the transaction; rolled back");
  }
  for (const Notification& n : notifications) {
    HART_RETURN_IF_ERROR(
        conn.Defer("SELECT pg_notify($1, $2)", PgParams().Text(n.channel).Text(n.payload)));
  }
  HART_RETURN_IF_ERROR(conn.Defer("COMMIT", {}, /*prepare=*/false));
  return conn.Flush();
}

// Ends a failed transaction: what was deferred is dropped unsent. Fails
// harmlessly if the server already ended it; a broken connection is
// dropped by the pool.
inline void Rollback(PgConn& conn) {
  conn.DiscardDeferred();
  (void)conn.Exec("ROLLBACK");
}
}  // namespace pg

template <typename Body>
absl::Status PostgresBackend::InWriteTransaction(Body&& body) {
  return InWriteTransaction(pg::WriteReads{}, std::forward<Body>(body));
}

template <typename Body>
absl::Status PostgresBackend::InWriteTransaction(const pg::WriteReads& reads, Body&& body) {
  HART_ASSIGN_OR_RETURN(lease, pool_->Acquire());
  pg::PgConn& conn = lease.conn();
  // The lock that orders the cluster's writers (see pg_backend.h), with
  // BEGIN and the reads in its round trip.
  auto locked = pg::BeginLockedWrite(conn, reads);
  if (!locked.ok()) {
    pg::Rollback(conn);
    return locked.status();
  }
  pg::PgWrite write{conn, audit::AuditTreeWriter(std::move(locked->tree))};
  write.feed_heads = std::move(locked->feed_heads);
  write.reports = std::move(locked->reports);
  write.tree.Begin();
  absl::Status status = body(write);
  if (status.ok()) status = write.acks.Defer(conn);
  if (status.ok()) status = SaveFeedHeads(write);
  if (status.ok()) status = write.leaves.Defer(conn);
  if (status.ok()) {
    // The tree's state commits with the events that grew it.
    pg::PgAuditRows rows(conn, write.leaves);
    status = write.tree.SaveIfGrown(rows);
  }
  // Other replicas are told last, in the COMMIT's round trip.
  if (status.ok()) {
    status = pg::Commit(conn, pg::Notifications(options_.broker_id, write.changes));
  }
  if (!status.ok()) {
    pg::Rollback(conn);
    return status;
  }
  return status;
}

template <typename Body>
absl::Status PostgresBackend::InClaimTransaction(Body&& body) {
  HART_ASSIGN_OR_RETURN(lease, pool_->Acquire());
  pg::PgConn& conn = lease.conn();
  HART_RETURN_IF_ERROR(conn.Defer(pg::kBegin, {}, /*prepare=*/false));
  absl::Status status = body(conn);
  if (status.ok()) status = pg::Commit(conn);
  if (!status.ok()) pg::Rollback(conn);
  return status;
}

}  // namespace hart
