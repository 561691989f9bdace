#include "broker/store/sqlite/sqlite_stored_acks.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "broker/common/status_macros.h"
#include "broker/common/time_util.h"
#include "broker/store/sqlite/sqlite_read_sql.h"
#include "hart/store/v1/stored_acks.pb.h"

namespace hart::sqlite {

namespace {

absl::StatusOr<store::v1::StoredAcks> ParseStoredAcks(const std::string& column,
                                                      const std::string& delivery_id) {
  store::v1::StoredAcks stored;
  if (!stored.ParseFromString(column)) {
    return absl::DataLossError(absl::StrCat("the stored acknowledgements of delivery ",
                                            delivery_id, " cannot be read"));
  }
  return stored;
}

}  // namespace

std::string StoredAckEntry(const AckWrite& w) {
  store::v1::StoredAcks one;
  store::v1::StoredAck* ack = one.add_acks();
  ack->set_kind(w.ack.kind());
  ack->set_sealed_note(w.sealed_note);
  ack->set_actor(w.ack.actor());
  ack->set_recorded_at_micros(absl::ToUnixMicros(FromProtoTime(w.ack.recorded_at())));
  return one.SerializeAsString();
}

absl::Status ReadStoredAcks(const std::string& column, DeliveryWithAcks& out) {
  if (column.empty()) return absl::OkStatus();
  auto stored = ParseStoredAcks(column, out.delivery.delivery_id);
  if (!stored.ok()) return stored.status();
  for (store::v1::StoredAck& entry : *stored->mutable_acks()) {
    v1::Acknowledgement ack;
    ack.set_kind(entry.kind());
    ack.set_actor(std::move(*entry.mutable_actor()));
    *ack.mutable_recorded_at() = ToProtoTime(absl::FromUnixMicros(entry.recorded_at_micros()));
    out.acks.push_back(std::move(ack));
    out.sealed_notes.push_back(std::move(*entry.mutable_sealed_note()));
  }
  return absl::OkStatus();
}

absl::Status EmptyStoredAckNotes(SqliteDb& db, const std::string& referral_id) {
  std::vector<std::pair<int64_t, std::string>> emptied;  // rowid, stored_acks without notes
  {
    HART_ASSIGN_OR_RETURN(select, db.Prepare(read_sql::StoredAcksOfReferral()));
    select->Bind(1, referral_id);
    for (;;) {
      HART_ASSIGN_OR_RETURN(row, select->Step());
      if (!row) break;
      // One that cannot be read stays as it is: its notes are sealed under
      // the key the seal destroys, and a seal must not fail on it.
      auto stored = ParseStoredAcks(select->Text(2), select->Text(1));
      if (!stored.ok()) continue;
      bool had_notes = false;
      for (store::v1::StoredAck& entry : *stored->mutable_acks()) {
        had_notes = had_notes || !entry.sealed_note().empty();
        entry.clear_sealed_note();
      }
      if (had_notes) emptied.emplace_back(select->Int(0), stored->SerializeAsString());
    }
  }
  HART_ASSIGN_OR_RETURN(update,
                        db.Prepare("UPDATE deliveries SET stored_acks = ? WHERE rowid = ?"));
  for (const auto& [rowid, stored_acks] : emptied) {
    update->Reset();
    update->BindBlob(1, stored_acks).Bind(2, rowid);
    HART_RETURN_IF_ERROR(update->Run());
  }
  return absl::OkStatus();
}

}  // namespace hart::sqlite
