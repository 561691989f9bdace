// PostgresBackend's transaction templates, for the backend's own .cc files.
#pragma once

#include "broker/common/status_macros.h"
#include "broker/store/postgres/pg_audit_rows.h"
#include "broker/store/postgres/pg_backend.h"

namespace hart {

template <typename Body>
absl::Status PostgresBackend::InWriteTransaction(Body&& body) {
  HART_ASSIGN_OR_RETURN(lease, pool_->Acquire());
  pg::PgConn& conn = lease.conn();
  HART_RETURN_IF_ERROR(conn.Exec("BEGIN"));
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
  if (status.ok()) status = conn.Exec("COMMIT");
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
  HART_RETURN_IF_ERROR(conn.Exec("BEGIN"));
  absl::Status status = body(conn);
  if (status.ok()) status = conn.Exec("COMMIT");
  if (!status.ok()) (void)conn.Exec("ROLLBACK");
  return status;
}

}  // namespace hart
