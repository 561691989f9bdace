// SqliteBackend: the agencies' feeds. A sequence is assigned from the
// agency's head inside the writing transaction, and the head row written
// before it commits (sqlite_feed_heads.h), so sequences are gap-free and
// commit in order (the single writer serialises them).
#include "absl/strings/str_cat.h"
#include "broker/common/status_macros.h"
#include "broker/feed/feed_reference.h"
#include "broker/store/sqlite/sqlite_read_sql.h"
#include "broker/store/sqlite/sqlite_rows.h"
#include "broker/store/sqlite/sqlite_transaction.h"

namespace hart {

using sqlite::SqliteDb;

namespace {

FeedEntry ReadFeedRow(const sqlite::Statement& s) {
  constexpr int n = sqlite::kDeliveryColumnCount;
  FeedEntry e;
  e.sequence = static_cast<uint64_t>(s.Int(0));
  e.appended_at = absl::FromUnixMicros(s.Int(1));
  e.delivery = sqlite::ReadDelivery(s, 2);
  e.sealed_intake = s.Text(2 + n);
  e.priority = static_cast<v1::Priority>(s.Int(3 + n));
  e.audit_index = static_cast<uint64_t>(s.Int(4 + n));
  e.sealed = !s.IsNull(5 + n);
  if (e.sealed) e.sealed_intake.clear();
  return e;
}

}  // namespace

absl::StatusOr<uint64_t> SqliteBackend::NextFeedSequence(SqliteDb& db,
                                                         const std::string& agency_id) {
  return feed_heads_.Next(db, agency_id);
}

absl::StatusOr<FeedAppendResult> SqliteBackend::InsertFeedEvent(SqliteDb& db, const FeedAppend& a,
                                                                uint64_t sequence, absl::Time now) {
  HART_ASSIGN_OR_RETURN(audit_index, AppendLeaf(db, a.audit));
  HART_ASSIGN_OR_RETURN(insert, db.Prepare(
      "INSERT INTO feed_events (agency_id, sequence, delivery_id, appended_at, audit_index) "
      "VALUES (?, ?, ?, ?, ?)"));
  insert->BindRef(1, a.agency_id).Bind(2, static_cast<int64_t>(sequence))
      .BindRef(3, a.delivery_id)
      .Bind(4, absl::ToUnixMicros(now)).Bind(5, static_cast<int64_t>(audit_index));
  HART_RETURN_IF_ERROR(insert->Run());
  return FeedAppendResult{a.delivery_id, a.agency_id, sequence, audit_index};
}

absl::StatusOr<FeedAppendResult> SqliteBackend::AppendFeedEvent(SqliteDb& db, const FeedAppend& a,
                                                                absl::Time now) {
  HART_ASSIGN_OR_RETURN(existing, db.Prepare(sqlite::read_sql::FeedEventOfDelivery()));
  existing->Bind(1, a.delivery_id);
  HART_ASSIGN_OR_RETURN(found, existing->Step());
  if (found) {
    return FeedAppendResult{a.delivery_id, existing->Text(0),
                            static_cast<uint64_t>(existing->Int(1))};
  }
  HART_ASSIGN_OR_RETURN(known, sqlite::DeliveryExists(db, a.delivery_id));
  if (!known) return absl::NotFoundError(absl::StrCat("no delivery ", a.delivery_id));
  HART_ASSIGN_OR_RETURN(sequence, NextFeedSequence(db, a.agency_id));
  HART_ASSIGN_OR_RETURN(appended, InsertFeedEvent(db, a, sequence, now));
  HART_ASSIGN_OR_RETURN(update, db.Prepare(
      "UPDATE deliveries SET transport_ref = ?, lease_until = NULL, last_error = '' "
      "WHERE delivery_id = ?"));
  update->Bind(1, feed::FormatReference(a.agency_id, sequence)).Bind(2, a.delivery_id);
  HART_RETURN_IF_ERROR(update->Run());
  return appended;
}

absl::StatusOr<std::vector<FeedAppendResult>> SqliteBackend::AppendToFeeds(
    std::span<const FeedAppend> appends, absl::Time now) {
  std::vector<FeedAppendResult> results;
  absl::Status status = InWriteTransaction([&](SqliteDb& db) -> absl::Status {
    results.clear();
    for (const FeedAppend& a : appends) {
      HART_ASSIGN_OR_RETURN(result, AppendFeedEvent(db, a, now));
      results.push_back(std::move(result));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return results;
}

absl::StatusOr<std::vector<FeedEntry>> SqliteBackend::ReadFeed(const std::string& agency_id,
                                                               uint64_t after_sequence,
                                                               size_t limit) {
  HART_ASSIGN_OR_RETURN(reader, db_->AcquireReader());
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(sqlite::read_sql::ReadFeed()));
  stmt->Bind(1, agency_id).Bind(2, static_cast<int64_t>(after_sequence))
      .Bind(3, static_cast<int64_t>(limit));
  return sqlite::CollectRows(*stmt, ReadFeedRow);
}

absl::StatusOr<std::vector<FeedEntry>> SqliteBackend::ReadUnreceivedFeed(
    const std::string& agency_id, uint64_t after_sequence, uint64_t up_to_sequence,
    size_t limit) {
  HART_ASSIGN_OR_RETURN(reader, db_->AcquireReader());
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(sqlite::read_sql::ReadUnreceivedFeed()));
  stmt->Bind(1, agency_id).Bind(2, static_cast<int64_t>(after_sequence))
      .Bind(3, static_cast<int64_t>(up_to_sequence)).Bind(4, static_cast<int64_t>(limit));
  return sqlite::CollectRows(*stmt, ReadFeedRow);
}

absl::StatusOr<uint64_t> SqliteBackend::FeedHead(const std::string& agency_id) {
  HART_ASSIGN_OR_RETURN(reader, db_->AcquireReader());
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(sqlite::read_sql::FeedHead()));
  stmt->Bind(1, agency_id);
  HART_ASSIGN_OR_RETURN(row, stmt->Step());
  return row ? static_cast<uint64_t>(stmt->Int(0)) : uint64_t{0};
}

}  // namespace hart
