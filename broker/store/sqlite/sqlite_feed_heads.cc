#include "broker/store/sqlite/sqlite_feed_heads.h"

#include "broker/common/status_macros.h"
#include "broker/store/sqlite/sqlite_read_sql.h"

namespace hart::sqlite {

absl::StatusOr<uint64_t> TransactionFeedHeads::Next(SqliteDb& db, const std::string& agency_id) {
  if (!open_) return absl::InternalError("a feed sequence was taken outside a write transaction");
  if (auto it = advanced_.find(agency_id); it != advanced_.end()) return ++it->second;
  HART_ASSIGN_OR_RETURN(read, db.Prepare(read_sql::FeedHead()));
  read->Bind(1, agency_id);
  HART_ASSIGN_OR_RETURN(found, read->Step());
  const uint64_t next = (found ? static_cast<uint64_t>(read->Int(0)) : 0) + 1;
  advanced_.emplace(agency_id, next);
  return next;
}

absl::Status TransactionFeedHeads::Save(SqliteDb& db) {
  for (const auto& [agency_id, last] : advanced_) {
    HART_ASSIGN_OR_RETURN(write, db.Prepare(
        "INSERT INTO feed_heads (agency_id, last_sequence) VALUES (?, ?) "
        "ON CONFLICT (agency_id) DO UPDATE SET last_sequence = excluded.last_sequence"));
    write->Bind(1, agency_id).Bind(2, static_cast<int64_t>(last));
    HART_RETURN_IF_ERROR(write->Run());
  }
  return absl::OkStatus();
}

}  // namespace hart::sqlite
