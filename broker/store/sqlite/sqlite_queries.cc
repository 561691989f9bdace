// SqliteBackend: supervisor queries (referrals by filter, one referral's
// deliveries with their acknowledgements).
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/common/status_macros.h"
#include "broker/common/time_util.h"
#include "broker/store/sqlite/sqlite_read_sql.h"
#include "broker/store/sqlite/sqlite_rows.h"
#include "broker/store/sqlite/sqlite_stored_acks.h"
#include "broker/store/sqlite/sqlite_transaction.h"

namespace hart {

using sqlite::Statement;

namespace {

// IsOverdue (broker/overdue.h) in SQL over deliveries `d`, with two
// parameters for `now`. tests/store holds the two to the same answers.
std::string OverdueClause() {
  return absl::StrCat(
      "d.kind = ", int64_t{v1::REFERRAL}, " AND d.redelivered_as = '' AND d.state != ",
      int64_t{v1::ACKNOWLEDGED}, " AND (d.ack_deadline <= ? OR (d.delivery_deadline <= ? AND "
      "d.state NOT IN (", int64_t{v1::DELIVERED}, ", ", int64_t{v1::DECLINED}, ")))");
}

ReferralSummaryRecord ReadSummary(const Statement& s) {
  ReferralSummaryRecord r;
  r.referral_id = s.Text(0);
  r.careline_report_id = s.Text(1);
  r.priority = static_cast<v1::Priority>(s.Int(2));
  r.resolved_town = s.Text(3);
  r.received_at = absl::FromUnixMicros(s.Int(4));
  r.accepted_at = absl::FromUnixMicros(s.Int(5));
  r.deliveries = static_cast<uint32_t>(s.Int(6));
  r.acknowledged = static_cast<uint32_t>(s.Int(7));
  r.overdue = static_cast<uint32_t>(s.Int(8));
  r.dead = static_cast<uint32_t>(s.Int(9));
  r.declined = static_cast<uint32_t>(s.Int(10));
  if (!s.IsNull(11)) r.next_deadline = absl::FromUnixMicros(s.Int(11));
  return r;
}

}  // namespace

namespace sqlite {

read_sql::BuiltQuery read_sql::ListReferrals(const ReferralQuery& q, int64_t now_micros) {
  BuiltQuery out;
  // Each subquery reads only the referral's own deliveries: without
  // INDEXED BY, SQLite picked deliveries_due for "state = 5" (before it
  // held PENDING only) or an index by agency for "agency_id = ?" (schema
  // 14 dropped it) and read every acknowledged delivery (or every delivery
  // of the agency) for each referral listed.
  const std::string own = "FROM deliveries d INDEXED BY deliveries_by_referral "
                          "WHERE d.referral_id = r.referral_id AND ";
  const std::string overdue_clause = OverdueClause();
  // The overdue count in the select list comes first in the text.
  out.params.push_back(now_micros);
  out.params.push_back(now_micros);
  std::string where;
  if (!q.states.empty()) {
    std::vector<std::string> states;
    for (auto st : q.states) states.push_back(absl::StrCat(static_cast<int>(st)));
    absl::StrAppend(&where, " AND EXISTS (SELECT 1 ", own, "d.state IN (",
                    absl::StrJoin(states, ","), "))");
  }
  if (q.overdue_at) {
    absl::StrAppend(&where, " AND EXISTS (SELECT 1 ", own, overdue_clause, ")");
    out.params.push_back(absl::ToUnixMicros(*q.overdue_at));
    out.params.push_back(absl::ToUnixMicros(*q.overdue_at));
  }
  if (!q.towns.empty()) {
    std::vector<std::string> marks(q.towns.size(), "?");
    absl::StrAppend(&where, " AND r.resolved_town IN (", absl::StrJoin(marks, ","), ")");
    for (const auto& t : q.towns) out.params.push_back(t);
  }
  if (!q.rule_id.empty()) {
    // Whole rule ids, ASCII case-insensitive. Not LIKE: its pattern's
    // wildcards would match other ids, and a bound LIKE pattern makes SQLite
    // re-plan the statement on every call.
    absl::StrAppend(&where, " AND EXISTS (SELECT 1 ", own,
                    "instr(lower(',' || d.rule_ids || ','), lower(?)) > 0)");
    out.params.push_back(absl::StrCat(",", q.rule_id, ","));
  }
  if (!q.agency_id.empty()) {
    absl::StrAppend(&where, " AND EXISTS (SELECT 1 ", own, "d.agency_id = ?)");
    out.params.push_back(q.agency_id);
  }
  if (q.received_from) {
    absl::StrAppend(&where, " AND r.received_at >= ?");
    out.params.push_back(absl::ToUnixMicros(*q.received_from));
  }
  if (q.received_to) {
    absl::StrAppend(&where, " AND r.received_at < ?");
    out.params.push_back(absl::ToUnixMicros(*q.received_to));
  }
  if (q.before) {
    // A row value, so SQLite seeks the index to the cursor.
    absl::StrAppend(&where, " AND (r.accepted_at, r.referral_id) < (?, ?)");
    out.params.push_back(absl::ToUnixMicros(q.before->first));
    out.params.push_back(q.before->second);
  }
  out.params.push_back(static_cast<int64_t>(q.limit));
  out.sql = absl::StrCat(
      "SELECT r.referral_id, r.careline_report_id, r.priority, r.resolved_town, r.received_at, "
      "r.accepted_at, "
      "(SELECT COUNT(*) ", own, "d.kind = ", int64_t{v1::REFERRAL}, "), "
      "(SELECT COUNT(*) ", own, "d.state = ", int64_t{v1::ACKNOWLEDGED}, "), "
      "(SELECT COUNT(*) ", own, overdue_clause, "), "
      "(SELECT COUNT(*) ", own, "d.state = ", int64_t{v1::DEAD}, " AND d.redelivered_as = ''), "
      "(SELECT COUNT(*) ", own, "d.state = ", int64_t{v1::DECLINED},
      " AND d.redelivered_as = ''), "
      "(SELECT MIN(d.ack_deadline) ", own, "d.kind = ", int64_t{v1::REFERRAL},
      " AND d.state != ", int64_t{v1::ACKNOWLEDGED}, " AND d.redelivered_as = '') "
      "FROM referrals r INDEXED BY referrals_by_accepted WHERE 1 = 1", where,
      " ORDER BY r.accepted_at DESC, r.referral_id DESC LIMIT ?");
  return out;
}

}  // namespace sqlite

absl::StatusOr<std::vector<ReferralSummaryRecord>> SqliteBackend::ListReferrals(
    const ReferralQuery& q) {
  HART_ASSIGN_OR_RETURN(reader, db_->AcquireReader());
  const auto query = sqlite::read_sql::ListReferrals(
      q, absl::ToUnixMicros(q.overdue_at.value_or(absl::Now())));
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(query.sql));
  sqlite::read_sql::BindAll(*stmt, query);
  return sqlite::CollectRows(*stmt, ReadSummary);
}

absl::StatusOr<std::vector<DeliveryWithAcks>> SqliteBackend::GetDeliveries(
    const std::string& referral_id) {
  HART_ASSIGN_OR_RETURN(reader, db_->AcquireReader());
  std::vector<DeliveryWithAcks> out;
  {
    HART_ASSIGN_OR_RETURN(
        stmt, reader.db().Prepare(sqlite::read_sql::DeliveriesWithAcksOfReferral()));
    stmt->Bind(1, referral_id);
    HART_ASSIGN_OR_RETURN(rows, sqlite::CollectRows(*stmt, [](const Statement& s) {
      return std::make_pair(DeliveryWithAcks{sqlite::ReadDelivery(s), {}, {}},
                            s.Text(sqlite::kDeliveryColumnCount));
    }));
    for (auto& [item, stored_acks] : rows) {
      // Those recorded before schema 18, in their own table, came first.
      HART_ASSIGN_OR_RETURN(acks, reader.db().Prepare(sqlite::read_sql::AcksOfDelivery()));
      acks->Bind(1, item.delivery.delivery_id);
      for (;;) {
        HART_ASSIGN_OR_RETURN(row, acks->Step());
        if (!row) break;
        v1::Acknowledgement ack;
        ack.set_kind(static_cast<v1::Acknowledgement::Kind>(acks->Int(0)));
        ack.set_actor(acks->Text(2));
        *ack.mutable_recorded_at() = ToProtoTime(absl::FromUnixMicros(acks->Int(3)));
        item.acks.push_back(std::move(ack));
        item.sealed_notes.push_back(acks->Text(1));
      }
      HART_RETURN_IF_ERROR(sqlite::ReadStoredAcks(stored_acks, item));
      out.push_back(std::move(item));
    }
  }
  return out;
}

}  // namespace hart
