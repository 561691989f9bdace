// PostgresBackend: supervisor queries (referrals by filter, one referral's
// deliveries with their acknowledgements).
#include <algorithm>
#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/common/status_macros.h"
#include "broker/common/time_util.h"
#include "broker/store/postgres/pg_rows.h"
#include "broker/store/postgres/pg_transaction.h"

namespace hart {

namespace {

// IsOverdue (broker/overdue.h) in SQL over deliveries `d` at `now` (a
// bigint expression). tests/store holds the two to the same answers.
std::string OverdueClause(const std::string& now) {
  return absl::StrCat(
      "d.kind = ", int64_t{v1::REFERRAL}, " AND d.redelivered_as = '' AND d.state != ",
      int64_t{v1::ACKNOWLEDGED}, " AND (d.ack_deadline <= ", now, " OR (d.delivery_deadline <= ",
      now, " AND d.state NOT IN (", int64_t{v1::DELIVERED}, ", ", int64_t{v1::DECLINED}, ")))");
}

// One statement for every combination of filters, so each connection
// prepares it once: an unset filter is an empty array, an empty string or
// NULL, and its clause is true. Sets travel as array literals (PgParams has
// no array type) cast in SQL; an empty set is '{}', never '', so the cast
// cannot fail whichever side of the OR the planner evaluates first.
// Parameters: $1 now, $2 states, $3 overdue_at, $4 towns, $5 ",rule_id," or empty,
// $6 agency, $7 received_from, $8 received_to, $9/$10 cursor, $11 limit.
const std::string& ListReferralsSql() {
  static const std::string sql = absl::StrCat(
      "SELECT r.referral_id, r.careline_report_id, r.priority, r.resolved_town, r.received_at, "
      "r.accepted_at, "
      "(SELECT COUNT(*) FROM deliveries d WHERE d.referral_id = r.referral_id AND d.kind = ",
      int64_t{v1::REFERRAL}, "), "
      "(SELECT COUNT(*) FROM deliveries d WHERE d.referral_id = r.referral_id AND d.state = ",
      int64_t{v1::ACKNOWLEDGED}, "), "
      "(SELECT COUNT(*) FROM deliveries d WHERE d.referral_id = r.referral_id AND ",
      OverdueClause("$1::bigint"), "), "
      "(SELECT COUNT(*) FROM deliveries d WHERE d.referral_id = r.referral_id AND d.state = ",
      int64_t{v1::DEAD}, " AND d.redelivered_as = ''), "
      "(SELECT COUNT(*) FROM deliveries d WHERE d.referral_id = r.referral_id AND d.state = ",
      int64_t{v1::DECLINED}, " AND d.redelivered_as = ''), "
      "(SELECT MIN(d.ack_deadline) FROM deliveries d WHERE d.referral_id = r.referral_id AND "
      "d.kind = ", int64_t{v1::REFERRAL}, " AND d.state != ", int64_t{v1::ACKNOWLEDGED},
      " AND d.redelivered_as = '') "
      "FROM referrals r WHERE "
      "(cardinality($2::bigint[]) = 0 OR EXISTS (SELECT 1 FROM deliveries d "
      "WHERE d.referral_id = r.referral_id AND d.state = ANY ($2::bigint[]))) "
      "AND ($3::bigint IS NULL OR EXISTS (SELECT 1 FROM deliveries d "
      "WHERE d.referral_id = r.referral_id AND ", OverdueClause("$3::bigint"), ")) "
      "AND (cardinality($4::text[]) = 0 OR r.resolved_town = ANY ($4::text[])) "
      // Whole rule ids, case-insensitive, as on SQLite.
      "AND ($5 = '' OR EXISTS (SELECT 1 FROM deliveries d WHERE d.referral_id = "
      "r.referral_id AND strpos(lower(',' || d.rule_ids || ','), lower($5)) > 0)) "
      "AND ($6 = '' OR EXISTS (SELECT 1 FROM deliveries d WHERE d.referral_id = "
      "r.referral_id AND d.agency_id = $6)) "
      "AND ($7::bigint IS NULL OR r.received_at >= $7::bigint) "
      "AND ($8::bigint IS NULL OR r.received_at < $8::bigint) "
      // Ids compare bytewise as in SQLite, whatever the database's locale;
      // the cursor and the ORDER BY use the same collation.
      "AND ($9::bigint IS NULL OR r.accepted_at < $9::bigint OR "
      "(r.accepted_at = $9::bigint AND r.referral_id COLLATE \"C\" < $10)) "
      "ORDER BY r.accepted_at DESC, r.referral_id COLLATE \"C\" DESC LIMIT $11");
  return sql;
}

std::string StateArray(const std::vector<v1::DeliveryState>& states) {
  return absl::StrCat("{", absl::StrJoin(states, ",", [](std::string* out, v1::DeliveryState s) {
                        absl::StrAppend(out, static_cast<int64_t>(s));
                      }),
                      "}");
}

ReferralSummaryRecord ReadSummary(const pg::PgResult& rows, int row) {
  ReferralSummaryRecord r;
  r.referral_id = rows.Text(row, 0);
  r.careline_report_id = rows.Text(row, 1);
  r.priority = static_cast<v1::Priority>(rows.Int(row, 2));
  r.resolved_town = rows.Text(row, 3);
  r.received_at = rows.Time(row, 4);
  r.accepted_at = rows.Time(row, 5);
  r.deliveries = static_cast<uint32_t>(rows.Int(row, 6));
  r.acknowledged = static_cast<uint32_t>(rows.Int(row, 7));
  r.overdue = static_cast<uint32_t>(rows.Int(row, 8));
  r.dead = static_cast<uint32_t>(rows.Int(row, 9));
  r.declined = static_cast<uint32_t>(rows.Int(row, 10));
  r.next_deadline = rows.OptTime(row, 11);
  return r;
}

}  // namespace

absl::StatusOr<std::vector<ReferralSummaryRecord>> PostgresBackend::ListReferrals(
    const ReferralQuery& q) {
  HART_ASSIGN_OR_RETURN(lease, pool_->Acquire());
  std::optional<int64_t> before_at;
  std::string before_id;
  if (q.before) {
    before_at = absl::ToUnixMicros(q.before->first);
    before_id = q.before->second;
  }
  auto micros = [](const std::optional<absl::Time>& t) -> std::optional<int64_t> {
    if (!t) return std::nullopt;
    return absl::ToUnixMicros(*t);
  };
  HART_ASSIGN_OR_RETURN(rows, lease.conn().Query(
      ListReferralsSql(),
      pg::PgParams()
          .Micros(q.overdue_at.value_or(absl::Now()))
          .Array(StateArray(q.states))
          .OptInt(micros(q.overdue_at))
          .Array(pg::TextArray(q.towns))
          .Text(q.rule_id.empty() ? std::string() : absl::StrCat(",", q.rule_id, ","))
          .Text(q.agency_id)
          .OptInt(micros(q.received_from))
          .OptInt(micros(q.received_to))
          .OptInt(before_at)
          .Text(before_id)
          .Limit(q.limit)));
  std::vector<ReferralSummaryRecord> out;
  out.reserve(rows.rows());
  for (int row = 0; row < rows.rows(); ++row) out.push_back(ReadSummary(rows, row));
  return out;
}

absl::StatusOr<std::vector<DeliveryWithAcks>> PostgresBackend::GetDeliveries(
    const std::string& referral_id) {
  HART_ASSIGN_OR_RETURN(lease, pool_->Acquire());
  // One statement (one snapshot, one round trip) instead of SQLite's query
  // per delivery: each delivery with its acks, or once with NULLs if none.
  // Creation order is deliveries.created_seq (SQLite's rowid): deliveries
  // of one batch share created_at, and ids do not sort by insertion.
  constexpr int n = pg::kDeliveryColumnCount;
  HART_ASSIGN_OR_RETURN(rows, lease.conn().Query(
      absl::StrCat("SELECT ", pg::kDeliveryColumns, ", a.kind, a.note, a.actor, a.recorded_at "
                   "FROM deliveries d LEFT JOIN acks a ON a.delivery_id = d.delivery_id "
                   "WHERE d.referral_id = $1 ORDER BY d.created_seq, a.ack_id"),
      pg::PgParams().Text(referral_id)));
  std::vector<DeliveryWithAcks> out;
  for (int row = 0; row < rows.rows(); ++row) {
    // Rows of one delivery are adjacent (ordered by its created_seq).
    if (out.empty() || out.back().delivery.delivery_id != rows.Text(row, 0)) {
      out.push_back(DeliveryWithAcks{pg::ReadDelivery(rows, row), {}, {}});
    }
    if (rows.IsNull(row, n)) continue;  // no acks (acks.kind is NOT NULL)
    DeliveryWithAcks& item = out.back();
    v1::Acknowledgement ack;
    ack.set_kind(static_cast<v1::Acknowledgement::Kind>(rows.Int(row, n)));
    ack.set_actor(rows.Text(row, n + 2));
    *ack.mutable_recorded_at() = ToProtoTime(rows.Time(row, n + 3));
    item.acks.push_back(std::move(ack));
    item.sealed_notes.push_back(rows.Bytes(row, n + 1));
  }
  return out;
}

}  // namespace hart
