// PostgresBackend: acknowledgements (compare-and-set on the delivery state).
#include "absl/strings/str_cat.h"
#include "broker/common/status_macros.h"
#include "broker/store/postgres/pg_rows.h"
#include "broker/store/postgres/pg_transaction.h"

namespace hart {

absl::StatusOr<uint64_t> PostgresBackend::WriteAck(pg::PgWrite& w, const AckWrite& write) {
  if (w.optimistic && !write.ladder) {
    // With the batch's other acks in one statement (pg_ack_batch.h); a
    // second ack of a delivery goes after the first's statement.
    if (w.acks.Holds(write.delivery_id)) HART_RETURN_IF_ERROR(w.acks.Defer(w.conn));
    w.acks.Add(write);
    if (w.acks.Full()) HART_RETURN_IF_ERROR(w.acks.Defer(w.conn));
    return AppendLeaf(w, write.audit);
  }
  // On its own: the item-by-item rerun, ApplyAcks, or an ack that starts a
  // ladder (pg::TriggerLadder reads the row after it), after those waiting.
  HART_RETURN_IF_ERROR(w.acks.Defer(w.conn));
  pg::PgAckBatch own;
  own.Add(write);
  if (w.optimistic) {
    // Sent with the batch's other writes, not waited for. A lost one fails
    // the transaction (hart_expect_one), and the item-by-item rerun tells
    // which and why.
    HART_RETURN_IF_ERROR(own.Defer(w.conn));
  } else {
    HART_ASSIGN_OR_RETURN(taken, own.RunCounted(w.conn));
    // A lost one wrote nothing and no statement failed: the transaction
    // stays usable for the rest of an ApplyAcks batch.
    if (taken != 1) {
      HART_ASSIGN_OR_RETURN(known, pg::DeliveryExists(w.conn, write.delivery_id));
      if (!known) return absl::NotFoundError(absl::StrCat("no delivery ", write.delivery_id));
      return absl::AbortedError("delivery changed state concurrently; retry");
    }
  }
  if (write.ladder) {
    HART_RETURN_IF_ERROR(pg::TriggerLadder(w.conn, write.delivery_id, *write.ladder));
    w.changes.work = true;
  }
  return AppendLeaf(w, write.audit);
}

absl::StatusOr<uint64_t> PostgresBackend::ApplyAck(const AckWrite& write) {
  auto results = ApplyAcks({&write, 1});
  if (!results.ok()) return results.status();
  return (*results)[0];
}

absl::StatusOr<std::vector<absl::StatusOr<uint64_t>>> PostgresBackend::ApplyAcks(
    std::span<const AckWrite> writes) {
  std::vector<absl::StatusOr<uint64_t>> results;
  absl::Status status = InWriteTransaction([&](pg::PgWrite& w) -> absl::Status {
    results.clear();
    for (const AckWrite& write : writes) {
      auto index = WriteAck(w, write);
      // A lost compare-and-set or an unknown delivery wrote nothing: it
      // concerns that item only.
      if (!index.ok() && !absl::IsAborted(index.status()) && !absl::IsNotFound(index.status())) {
        return index.status();
      }
      results.push_back(std::move(index));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return results;
}

}  // namespace hart
