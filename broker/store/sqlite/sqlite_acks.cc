// SqliteBackend: acknowledgements (compare-and-set on the delivery state).
#include "absl/strings/str_cat.h"
#include "broker/common/status_macros.h"
#include "broker/common/time_util.h"
#include "broker/store/ack_effects.h"
#include "broker/store/sqlite/sqlite_rows.h"
#include "broker/store/sqlite/sqlite_stored_acks.h"
#include "broker/store/sqlite/sqlite_transaction.h"

namespace hart {

using sqlite::SqliteDb;

absl::StatusOr<uint64_t> SqliteBackend::WriteAck(SqliteDb& db, const AckWrite& w) {
  const int64_t at = absl::ToUnixMicros(FromProtoTime(w.ack.recorded_at()));
  const bool delivered = AckMarksDelivered(w.new_state);
  const bool business = AckIsBusinessAnswer(w.new_state);
  HART_ASSIGN_OR_RETURN(update, db.Prepare(
      "UPDATE deliveries SET state = ?, lease_until = NULL, "
      "delivered_at = CASE WHEN ? THEN COALESCE(delivered_at, ?) ELSE delivered_at END, "
      "acknowledged_at = CASE WHEN ? THEN ? ELSE acknowledged_at END, "
      "ladder_due_at = CASE WHEN ? THEN NULL ELSE ladder_due_at END, "
      "stored_acks = CAST(stored_acks || ? AS BLOB) "
      "WHERE delivery_id = ? AND state = ?"));
  // stop_ladder also ends a ladder start still held in this row. The
  // acknowledgement itself is appended to the row the update rewrites anyway
  // (sqlite_stored_acks.h): no row and index entry of its own. `||` makes
  // TEXT; the cast keeps the column a BLOB (NULs and all).
  update->Bind(1, int64_t{w.new_state}).Bind(2, int64_t{delivered}).Bind(3, at)
      .Bind(4, int64_t{business}).Bind(5, at).Bind(6, int64_t{w.stop_ladder})
      .BindBlob(7, sqlite::StoredAckEntry(w))
      .BindRef(8, w.delivery_id).Bind(9, int64_t{w.expected_state});
  HART_RETURN_IF_ERROR(update->Run());
  if (db.Changes() != 1) {
    HART_ASSIGN_OR_RETURN(known, sqlite::DeliveryExists(db, w.delivery_id));
    if (!known) return absl::NotFoundError(absl::StrCat("no delivery ", w.delivery_id));
    return absl::AbortedError("delivery changed state concurrently; retry");
  }
  if (w.stop_ladder) {
    HART_RETURN_IF_ERROR(sqlite::StopLadder(db, w.delivery_id, FromProtoTime(w.ack.recorded_at())));
  }
  if (w.ladder) HART_RETURN_IF_ERROR(sqlite::TriggerLadder(db, w.delivery_id, *w.ladder));
  return AppendLeaf(db, w.audit);
}

absl::StatusOr<uint64_t> SqliteBackend::ApplyAck(const AckWrite& w) {
  auto results = ApplyAcks({&w, 1});
  if (!results.ok()) return results.status();
  return (*results)[0];
}

absl::StatusOr<std::vector<absl::StatusOr<uint64_t>>> SqliteBackend::ApplyAcks(
    std::span<const AckWrite> writes) {
  std::vector<absl::StatusOr<uint64_t>> results;
  absl::Status status = InWriteTransaction([&](SqliteDb& db) -> absl::Status {
    results.clear();
    for (const AckWrite& w : writes) {
      auto index = WriteAck(db, w);
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
