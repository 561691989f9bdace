// PostgresBackend: acknowledgements (compare-and-set on the delivery state).
#include "absl/strings/str_cat.h"
#include "broker/common/status_macros.h"
#include "broker/common/time_util.h"
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
  const absl::Time at = FromProtoTime(write.ack.recorded_at());
  const bool delivered = pg::AckMarksDelivered(write.new_state);
  const bool business = pg::AckIsBusinessAnswer(write.new_state);
  // The compare-and-set. A claim another replica holds on the row right now
  // makes it wait for that commit and re-check the state against it.
  // Stopping the ladder clears a ladder start still held in the row here
  // (pg::StopLadder below ends one already moved to timers).
  static constexpr char kCompareAndSet[] =
      "UPDATE deliveries SET state = $1, lease_until = NULL, "
      "delivered_at = CASE WHEN $2 <> 0 THEN COALESCE(delivered_at, $3) ELSE delivered_at END, "
      "acknowledged_at = CASE WHEN $4 <> 0 THEN $3 ELSE acknowledged_at END, "
      "ladder_due_at = CASE WHEN $7 <> 0 THEN NULL ELSE ladder_due_at END "
      "WHERE delivery_id = $5 AND state = $6";
  // The ack's row and the ladder's stop ride in the same statement, written
  // only if the compare-and-set took (they read its RETURNING): one
  // statement an ack, not three, each run while the transaction holds the
  // cluster's write lock. The stop is pg::StopLadder's, when $7 <> 0.
  static constexpr char kAckRow[] =
      "INSERT INTO acks (delivery_id, kind, note, actor, recorded_at) "
      "SELECT $5, $8, $9, $10, $3 FROM cas";
  static constexpr char kStopLadder[] =
      "UPDATE timers SET state = $11, finished_at = $3, lease_until = NULL "
      "WHERE $7 <> 0 AND EXISTS (SELECT 1 FROM cas) AND kind = $12 AND delivery_id = $5 "
      "AND state = $13";
  static const std::string kAck = absl::StrCat("WITH cas AS (", kCompareAndSet,
                                               " RETURNING 1), ack AS (", kAckRow,
                                               "), stop AS (", kStopLadder, ") ");
  pg::PgParams params = pg::PgParams().Int(write.new_state).Int(delivered ? 1 : 0).Micros(at)
                            .Int(business ? 1 : 0).Text(write.delivery_id)
                            .Int(write.expected_state).Int(write.stop_ladder ? 1 : 0)
                            .Int(write.ack.kind()).Bytes(write.sealed_note)
                            .Text(write.ack.actor()).Int(pg::kTimerReplaced)
                            .Int(pg::kTimerLadder).Int(pg::kTimerPending);
  if (w.optimistic) {
    // Sent with the batch's other writes, not waited for: acks of one batch
    // cost one round trip, not one each. A lost one fails the transaction
    // (hart_expect_one), and the item-by-item rerun tells which and why.
    HART_RETURN_IF_ERROR(w.conn.Defer(
        absl::StrCat(kAck, "SELECT hart_expect_one(count(*)) FROM cas"), std::move(params)));
  } else {
    HART_ASSIGN_OR_RETURN(taken, w.conn.Query(absl::StrCat(kAck, "SELECT count(*) FROM cas"),
                                              params));
    // A lost one wrote nothing and no statement failed: the transaction
    // stays usable for the rest of an ApplyAcks batch.
    if (taken.Int(0, 0) != 1) {
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
