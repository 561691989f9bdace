// PostgresBackend's transaction templates, for the backend's own .cc files.
#pragma once

#include "broker/common/status_macros.h"
#include "broker/store/postgres/pg_audit_rows.h"
#include "broker/store/postgres/pg_backend.h"

namespace hart {

namespace pg {
inline constexpr char kBegin[] = "BEGIN ISOLATION LEVEL READ COMMITTED";

// COMMIT, unless a statement failed inside the transaction without its
// error reaching here: PostgreSQL would answer such a COMMIT with ROLLBACK
// and a success status.
inline absl::Status Commit(PgConn& conn) {
  if (PQtransactionStatus(conn.raw()) == PQTRANS_INERROR) {
    return absl::InternalError("a statement failed inside the transaction; rolled back");
  }
  return conn.Exec("COMMIT");
}
}  // namespace pg

template <typename Body>
absl::Status PostgresBackend::InWriteTransaction(Body&& body) {
  HART_ASSIGN_OR_RETURN(lease, pool_->Acquire());
  pg::PgConn& conn = lease.conn();
  // READ COMMITTED whatever the database's default: each statement after
  // the audit_tree lock sees every earlier writer's commit (a stricter
  // level would fail contended locks with serialization errors instead).
  HART_RETURN_IF_ERROR(conn.Exec(pg::kBegin));
  // The lock that orders the cluster's writers (see pg_backend.h).
  auto tree = pg::LockTreeState(conn);
  if (!tree.ok()) {
    (void)conn.Exec("ROLLBACK");
    return tree.status();
  }
  pg::PgWrite write{conn, audit::AuditTreeWriter(std::move(*tree))};
  write.tree.Begin();
  absl::Status status = body(write);
  if (status.ok()) {
    // The tree's state commits with the events that grew it.
    pg::PgAuditRows rows(conn);
    status = write.tree.SaveIfGrown(rows);
  }
  if (status.ok()) status = pg::Commit(conn);
  if (!status.ok()) {
    // Fails harmlessly if the server already ended the transaction; a
    // broken connection is dropped by the pool.
    (void)conn.Exec("ROLLBACK");
    return status;
  }
  return status;
}

template <typename Body>
absl::Status PostgresBackend::InClaimTransaction(Body&& body) {
  HART_ASSIGN_OR_RETURN(lease, pool_->Acquire());
  pg::PgConn& conn = lease.conn();
  HART_RETURN_IF_ERROR(conn.Exec(pg::kBegin));
  absl::Status status = body(conn);
  if (status.ok()) status = pg::Commit(conn);
  if (!status.ok()) (void)conn.Exec("ROLLBACK");
  return status;
}

}  // namespace hart
