// SqliteBackend: the audit log's rows (leaves, subtrees, tree state,
// checkpoints) and their reads. The tree math is audit::AuditTreeWriter's.
#include "absl/strings/str_cat.h"
#include "broker/common/status_macros.h"
#include "broker/common/time_util.h"
#include "broker/store/sqlite/sqlite_audit_rows.h"
#include "broker/store/sqlite/sqlite_read_sql.h"
#include "broker/store/sqlite/sqlite_transaction.h"

namespace hart {
namespace sqlite {

absl::Status SqliteAuditRows::InsertLeaf(uint64_t index, const AuditEvent& e,
                                         const std::string& leaf_hash) {
  HART_ASSIGN_OR_RETURN(stmt, db_.Prepare(
      "INSERT INTO audit_events (idx, at, actor, action, referral_id, delivery_id, "
      "payload_sha256, detail, leaf_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  // idx is 1-based (SQLite rowid); the log's indexes are 0-based.
  stmt->Bind(1, static_cast<int64_t>(index + 1)).Bind(2, absl::ToUnixMicros(e.at))
      .BindRef(3, e.actor).BindRef(4, e.action).BindRef(5, e.referral_id)
      .BindRef(6, e.delivery_id).BindBlobRef(7, e.payload_sha256).BindRef(8, e.detail)
      .BindBlobRef(9, leaf_hash);
  return stmt->Run();
}

absl::Status SqliteAuditRows::PutSubtree(uint32_t height, uint64_t index,
                                         const std::string& hash) {
  HART_ASSIGN_OR_RETURN(insert, db_.Prepare(
      "INSERT OR REPLACE INTO audit_subtrees (leaf_end, height, hash) VALUES (?, ?, ?)"));
  insert->Bind(1, SubtreeLeafEnd(height, index)).Bind(2, int64_t{height}).BindBlob(3, hash);
  return insert->Run();
}

absl::Status SqliteAuditRows::SaveTreeState(uint64_t size, const std::string& compact_range) {
  HART_ASSIGN_OR_RETURN(save, db_.Prepare(
      "INSERT INTO audit_tree (id, size, compact_range) VALUES (1, ?, ?) "
      "ON CONFLICT (id) DO UPDATE SET size = excluded.size, "
      "compact_range = excluded.compact_range"));
  save->Bind(1, static_cast<int64_t>(size)).BindBlob(2, compact_range);
  return save->Run();
}

absl::StatusOr<std::optional<audit::CompactRange>> LoadTreeState(SqliteDb& db) {
  HART_ASSIGN_OR_RETURN(head, db.Prepare("SELECT size, compact_range FROM audit_tree WHERE id = 1"));
  HART_ASSIGN_OR_RETURN(found, head->Step());
  if (!found) return std::optional<audit::CompactRange>();
  auto range = audit::CompactRange::Parse(head->Text(1));
  if (!range || range->size() != static_cast<uint64_t>(head->Int(0))) {
    return absl::DataLossError("the stored audit tree state does not parse");
  }
  return std::optional<audit::CompactRange>(std::move(*range));
}

std::string read_sql::ListAuditEvents(const AuditQuery& q) {
  // An id filter reads its index; the other filters are then checked on
  // those rows. Written as "(?2 = '' OR referral_id = ?2)" instead, SQLite
  // cannot use any of the indexes and reads every event from ?1 on.
  const char* index = "";
  std::string where = "idx > ?1";
  auto filter = [&](const std::string& value, const char* by, const std::string& clause) {
    if (value.empty()) return;
    if (*index == '\0') index = by;
    absl::StrAppend(&where, " AND ", clause);
  };
  // audit_by_referral is (referral_id, delivery_id): a delivery's events are
  // under its referral, or under '' when they name no referral (schema 16),
  // two ranges of the index.
  filter(q.referral_id, " INDEXED BY audit_by_referral", "referral_id = ?2");
  filter(q.delivery_id, " INDEXED BY audit_by_referral",
         q.referral_id.empty() ? "referral_id IN ((SELECT referral_id FROM deliveries "
                                 "WHERE delivery_id = ?3), '') AND delivery_id = ?3"
                               : "delivery_id = ?3");
  // The broker's own events are most of the log and audit_by_actor leaves
  // them out (schema 14): listed in index order, a page of them is a few
  // rows past ?1 anyway.
  if (q.actor == kBrokerActor) {
    filter(q.actor, "", "actor = ?4");
  } else {
    filter(q.actor, " INDEXED BY audit_by_actor",
           absl::StrCat("actor = ?4 AND actor != '", kBrokerActor, "'"));
  }
  return absl::StrCat(
      "SELECT idx, at, actor, action, referral_id, delivery_id, payload_sha256, detail, "
      "leaf_hash FROM audit_events", index, " WHERE ", where,
      " AND at >= ?5 AND at < ?6 ORDER BY idx LIMIT ?7");
}

}  // namespace sqlite

using sqlite::SqliteDb;

absl::StatusOr<uint64_t> SqliteBackend::AppendLeaf(SqliteDb& db, const AuditEvent& event) {
  sqlite::SqliteAuditRows rows(db);
  return tree_.Append(rows, event);
}

absl::Status SqliteBackend::AppendAudit(std::span<const AuditEvent> events) {
  return InWriteTransaction([&](SqliteDb& db) -> absl::Status {
    for (const auto& e : events) HART_RETURN_IF_ERROR(AppendLeaf(db, e).status());
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<AuditEvent>> SqliteBackend::ListAuditEvents(const AuditQuery& q) {
  HART_ASSIGN_OR_RETURN(reader, db_->AcquireReader());
  // Times are bounded by the extremes when not given.
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(sqlite::read_sql::ListAuditEvents(q)));
  stmt->Bind(1, static_cast<int64_t>(q.start_index)).Bind(2, q.referral_id)
      .Bind(3, q.delivery_id).Bind(4, q.actor)
      .Bind(5, q.from ? absl::ToUnixMicros(*q.from) : INT64_MIN)
      .Bind(6, q.to ? absl::ToUnixMicros(*q.to) : INT64_MAX)
      .Bind(7, static_cast<int64_t>(q.limit));
  return sqlite::CollectRows(*stmt, [](const sqlite::Statement& s) {
    return AuditEvent{absl::FromUnixMicros(s.Int(1)), s.Text(2), s.Text(3), s.Text(4),
                      s.Text(5), s.Text(6), s.Text(7), static_cast<uint64_t>(s.Int(0) - 1),
                      s.Text(8)};
  });
}

absl::StatusOr<AuditTreeHead> SqliteBackend::AuditHead() { return tree_.CommittedHead(); }

absl::StatusOr<std::string> SqliteBackend::AuditLeafHash(uint64_t index) {
  HART_ASSIGN_OR_RETURN(reader, db_->AcquireReader());
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(sqlite::read_sql::AuditLeafHash()));
  stmt->Bind(1, static_cast<int64_t>(index + 1));
  HART_ASSIGN_OR_RETURN(row, stmt->Step());
  if (!row) return absl::NotFoundError(absl::StrCat("no audit event at index ", index));
  return stmt->Text(0);
}

absl::StatusOr<std::optional<std::string>> SqliteBackend::AuditSubtreeHash(uint32_t height,
                                                                           uint64_t index) {
  HART_ASSIGN_OR_RETURN(reader, db_->AcquireReader());
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(sqlite::read_sql::AuditSubtreeHash()));
  stmt->Bind(1, sqlite::SubtreeLeafEnd(height, index)).Bind(2, int64_t{height});
  HART_ASSIGN_OR_RETURN(row, stmt->Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(stmt->Text(0));
}

absl::Status SqliteBackend::AppendCheckpoint(const v1::Checkpoint& c) {
  return InWriteTransaction([&](SqliteDb& db) -> absl::Status {
    HART_ASSIGN_OR_RETURN(insert, db.Prepare(
        "INSERT INTO audit_checkpoints (tree_size, root_hash, at, key_id, signature, "
        "signed_note) VALUES (?, ?, ?, ?, ?, ?)"));
    insert->Bind(1, static_cast<int64_t>(c.tree_size())).BindBlob(2, c.root_hash())
        .Bind(3, absl::ToUnixMicros(FromProtoTime(c.timestamp()))).Bind(4, c.key_id())
        .BindBlob(5, c.signature()).Bind(6, c.signed_note());
    return insert->Run();
  });
}

absl::StatusOr<std::vector<v1::Checkpoint>> SqliteBackend::ListCheckpoints() {
  HART_ASSIGN_OR_RETURN(reader, db_->AcquireReader());
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(sqlite::read_sql::ListCheckpoints()));
  return sqlite::CollectRows(*stmt, [](const sqlite::Statement& s) {
    v1::Checkpoint c;
    c.set_tree_size(static_cast<uint64_t>(s.Int(0)));
    c.set_root_hash(s.Text(1));
    *c.mutable_timestamp() = ToProtoTime(absl::FromUnixMicros(s.Int(2)));
    c.set_key_id(s.Text(3));
    c.set_signature(s.Text(4));
    c.set_signed_note(s.Text(5));
    return c;
  });
}

}  // namespace hart
