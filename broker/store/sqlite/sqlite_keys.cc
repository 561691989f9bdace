// SqliteBackend: the referrals' wrapped data keys (rows only; the envelope
// layer wraps, unwraps and rewraps).
#include "absl/strings/str_cat.h"
#include "broker/common/status_macros.h"
#include "broker/store/sqlite/sqlite_read_sql.h"
#include "broker/store/sqlite/sqlite_transaction.h"

namespace hart {

using sqlite::SqliteDb;

namespace {

WrappedDataKey ReadKeyRow(const sqlite::Statement& s) {
  return {s.Text(0), s.Text(1), s.IsNull(2) ? std::string() : s.Text(2), s.IsNull(2)};
}

}  // namespace

absl::StatusOr<WrappedDataKey> SqliteBackend::ReadDataKey(const std::string& referral_id) {
  HART_ASSIGN_OR_RETURN(reader, db_->AcquireReader());
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(sqlite::read_sql::ReadDataKey()));
  stmt->Bind(1, referral_id);
  HART_ASSIGN_OR_RETURN(row, stmt->Step());
  if (!row) return absl::NotFoundError(absl::StrCat("no data key for referral ", referral_id));
  return ReadKeyRow(*stmt);
}

absl::StatusOr<std::vector<WrappedDataKey>> SqliteBackend::DataKeysNotWrappedBy(
    const std::string& key_id, size_t limit) {
  HART_ASSIGN_OR_RETURN(reader, db_->AcquireReader());
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(sqlite::read_sql::DataKeysNotWrappedBy()));
  stmt->Bind(1, key_id).Bind(2, static_cast<int64_t>(limit));
  return sqlite::CollectRows(*stmt, ReadKeyRow);
}

absl::StatusOr<size_t> SqliteBackend::ReplaceDataKeys(std::span<const DataKeyRewrap> rewraps) {
  size_t applied = 0;
  absl::Status status = InWriteTransaction([&](SqliteDb& db) -> absl::Status {
    applied = 0;
    for (const DataKeyRewrap& r : rewraps) {
      HART_ASSIGN_OR_RETURN(update, db.Prepare(
          "UPDATE referral_keys SET key_id = ?, wrapped = ? WHERE referral_id = ? "
          "AND key_id = ? AND wrapped = ?"));
      update->Bind(1, r.to.key_id).BindBlob(2, r.to.wrapped).Bind(3, r.from.referral_id)
          .Bind(4, r.from.key_id).BindBlob(5, r.from.wrapped);
      HART_RETURN_IF_ERROR(update->Run());
      applied += static_cast<size_t>(db.Changes());
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return applied;
}

}  // namespace hart
