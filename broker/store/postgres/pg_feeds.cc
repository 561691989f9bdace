// PostgresBackend: the agencies' feeds. A sequence is assigned by bumping the
// agency's feed_heads row inside the write transaction, which already holds
// the cluster-wide audit_tree row lock: writers on every replica take turns,
// so sequences are gap-free (a rolled-back bump is a rolled-back row, not a
// consumed sequence value) and commit in the order they were assigned.
#include <algorithm>
#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "broker/common/status_macros.h"
#include "broker/feed/feed_reference.h"
#include "broker/store/postgres/pg_rows.h"
#include "broker/store/postgres/pg_transaction.h"

namespace hart {

namespace {

// Columns of a feed row: the event, the delivery, then the referral's.
const std::string& FeedSelect() {
  static const std::string sql = absl::StrCat(
      "SELECT f.sequence, f.appended_at, ", pg::kDeliveryColumns,
      ", r.intake, r.priority, f.audit_index, r.sealed_at "
      "FROM feed_events f JOIN deliveries d ON d.delivery_id = f.delivery_id "
      "JOIN referrals r ON r.referral_id = d.referral_id ");
  return sql;
}

std::vector<FeedEntry> ReadFeedRows(const pg::PgResult& rows) {
  constexpr int n = pg::kDeliveryColumnCount;
  std::vector<FeedEntry> out;
  out.reserve(rows.rows());
  for (int row = 0; row < rows.rows(); ++row) {
    FeedEntry e;
    e.sequence = static_cast<uint64_t>(rows.Int(row, 0));
    e.appended_at = rows.Time(row, 1);
    e.delivery = pg::ReadDelivery(rows, row, 2);
    e.priority = static_cast<v1::Priority>(rows.Int(row, 3 + n));
    e.audit_index = static_cast<uint64_t>(rows.Int(row, 4 + n));
    e.sealed = !rows.IsNull(row, 5 + n);
    // referrals.intake is BYTEA; a sealed referral's is not handed out.
    if (!e.sealed) e.sealed_intake = rows.Bytes(row, 2 + n);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

absl::StatusOr<int64_t> PostgresBackend::NextFeedSequence(pg::PgWrite& w,
                                                          const std::string& agency_id) {
  auto head = w.feed_heads.find(agency_id);
  if (head == w.feed_heads.end()) {
    // Read once per agency and transaction, after the audit lock: every
    // writer that moves a head holds that lock, so nobody else moves it
    // before this transaction commits (SaveFeedHeads writes it back).
    HART_ASSIGN_OR_RETURN(row, w.conn.Query(
        "SELECT last_sequence FROM feed_heads WHERE agency_id = $1",
        pg::PgParams().Text(agency_id)));
    head = w.feed_heads.emplace(agency_id, row.rows() > 0 ? row.Int(0, 0) : 0).first;
  }
  const int64_t sequence = ++head->second;
  w.changes.feeds[agency_id] = static_cast<uint64_t>(sequence);
  return sequence;
}

absl::Status PostgresBackend::SaveFeedHeads(pg::PgWrite& w) {
  for (const auto& [agency, head] : w.changes.feeds) {
    HART_RETURN_IF_ERROR(w.conn.Defer(
        "INSERT INTO feed_heads (agency_id, last_sequence) VALUES ($1, $2) "
        "ON CONFLICT (agency_id) DO UPDATE SET last_sequence = EXCLUDED.last_sequence",
        pg::PgParams().Text(agency).Int(static_cast<int64_t>(head))));
  }
  return absl::OkStatus();
}

absl::StatusOr<FeedAppendResult> PostgresBackend::AppendFeedEvent(pg::PgWrite& w,
                                                                  const FeedAppend& a,
                                                                  absl::Time now) {
  // Read after the audit lock: every earlier writer's append is visible
  // (READ COMMITTED takes a snapshot per statement). One round trip for
  // both questions: is the delivery known, is it on a feed already.
  HART_ASSIGN_OR_RETURN(existing, w.conn.Query(
      "SELECT d.delivery_id IS NOT NULL, f.agency_id, f.sequence "
      "FROM (SELECT $1::text AS id) AS q "
      "LEFT JOIN deliveries d ON d.delivery_id = q.id "
      "LEFT JOIN feed_events f ON f.delivery_id = q.id",
      pg::PgParams().Text(a.delivery_id)));
  if (existing.rows() != 1) return absl::InternalError("feed lookup returned no row");
  if (!existing.IsNull(0, 2)) {
    return FeedAppendResult{a.delivery_id, existing.Text(0, 1),
                            static_cast<uint64_t>(existing.Int(0, 2))};
  }
  if (!existing.Bool(0, 0)) {
    return absl::NotFoundError(absl::StrCat("no delivery ", a.delivery_id));
  }
  HART_ASSIGN_OR_RETURN(sequence, NextFeedSequence(w, a.agency_id));
  HART_ASSIGN_OR_RETURN(appended, InsertFeedEvent(w, a, sequence, now));
  HART_RETURN_IF_ERROR(w.conn.Defer(
      "UPDATE deliveries SET transport_ref = $1, lease_until = NULL, last_error = '' "
      "WHERE delivery_id = $2",
      pg::PgParams().Text(feed::FormatReference(a.agency_id, static_cast<uint64_t>(sequence)))
          .Text(a.delivery_id)));
  return appended;
}

absl::StatusOr<FeedAppendResult> PostgresBackend::InsertFeedEvent(pg::PgWrite& w,
                                                                  const FeedAppend& a,
                                                                  int64_t sequence,
                                                                  absl::Time now,
                                                                  pg::PgFeedEventRows* rows) {
  HART_ASSIGN_OR_RETURN(audit_index, AppendLeaf(w, a.audit));
  pg::PgFeedEventRows own;
  (rows != nullptr ? *rows : own).Add(a.agency_id, sequence, a.delivery_id, now, audit_index);
  HART_RETURN_IF_ERROR(own.Defer(w.conn));
  return FeedAppendResult{a.delivery_id, a.agency_id, static_cast<uint64_t>(sequence),
                          audit_index};
}

absl::StatusOr<std::vector<FeedAppendResult>> PostgresBackend::AppendToFeeds(
    std::span<const FeedAppend> appends, absl::Time now) {
  std::vector<FeedAppendResult> results;
  absl::Status status = InWriteTransaction([&](pg::PgWrite& w) -> absl::Status {
    results.clear();
    for (const FeedAppend& a : appends) {
      HART_ASSIGN_OR_RETURN(result, AppendFeedEvent(w, a, now));
      results.push_back(std::move(result));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return results;
}

absl::StatusOr<std::vector<FeedEntry>> PostgresBackend::ReadFeed(const std::string& agency_id,
                                                                 uint64_t after_sequence,
                                                                 size_t limit) {
  HART_ASSIGN_OR_RETURN(lease, pool_->Acquire());
  HART_ASSIGN_OR_RETURN(rows, lease.conn().Query(
      absl::StrCat(FeedSelect(),
                   "WHERE f.agency_id = $1 AND f.sequence > $2 ORDER BY f.sequence LIMIT $3"),
      pg::PgParams().Text(agency_id).Int(static_cast<int64_t>(after_sequence))
          .Limit(limit)));
  return ReadFeedRows(rows);
}

absl::StatusOr<std::vector<FeedEntry>> PostgresBackend::ReadUnreceivedFeed(
    const std::string& agency_id, uint64_t after_sequence, uint64_t up_to_sequence,
    size_t limit) {
  HART_ASSIGN_OR_RETURN(lease, pool_->Acquire());
  HART_ASSIGN_OR_RETURN(rows, lease.conn().Query(
      absl::StrCat(FeedSelect(),
                   "WHERE f.agency_id = $1 AND f.sequence > $2 AND f.sequence <= $3 "
                   "AND d.state = $4 ORDER BY f.sequence LIMIT $5"),
      pg::PgParams().Text(agency_id).Int(static_cast<int64_t>(after_sequence))
          .Int(static_cast<int64_t>(up_to_sequence)).Int(v1::IN_FLIGHT)
          .Limit(limit)));
  return ReadFeedRows(rows);
}

absl::StatusOr<uint64_t> PostgresBackend::FeedHead(const std::string& agency_id) {
  HART_ASSIGN_OR_RETURN(lease, pool_->Acquire());
  HART_ASSIGN_OR_RETURN(row, lease.conn().Query(
      "SELECT last_sequence FROM feed_heads WHERE agency_id = $1",
      pg::PgParams().Text(agency_id)));
  return row.rows() > 0 ? static_cast<uint64_t>(row.Int(0, 0)) : uint64_t{0};
}

}  // namespace hart
