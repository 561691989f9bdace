// SqliteBackend: supervisor queries (referrals by filter, one referral's
// deliveries with their acknowledgements).
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/common/status_macros.h"
#include "broker/common/time_util.h"
#include "broker/store/sqlite/sqlite_rows.h"
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

absl::StatusOr<std::vector<ReferralSummaryRecord>> SqliteBackend::ListReferrals(
    const ReferralQuery& q) {
  HART_ASSIGN_OR_RETURN(reader, db_->AcquireReader());
  // Filters are built from fixed fragments; every value is bound.
  std::string where = "1 = 1";
  std::vector<std::function<void(Statement&, int&)>> binds;
  auto bind_text = [&](std::string v) {
    binds.push_back([v](Statement& s, int& i) { s.Bind(i++, v); });
  };
  auto bind_int = [&](int64_t v) {
    binds.push_back([v](Statement& s, int& i) { s.Bind(i++, v); });
  };
  const std::string overdue_clause = OverdueClause();
  if (!q.states.empty()) {
    std::vector<std::string> states;
    for (auto st : q.states) states.push_back(absl::StrCat(static_cast<int>(st)));
    absl::StrAppend(&where, " AND EXISTS (SELECT 1 FROM deliveries d WHERE d.referral_id = "
                            "r.referral_id AND d.state IN (", absl::StrJoin(states, ","), "))");
  }
  if (q.overdue_at) {
    absl::StrAppend(&where, " AND EXISTS (SELECT 1 FROM deliveries d WHERE d.referral_id = "
                            "r.referral_id AND ", overdue_clause, ")");
    bind_int(absl::ToUnixMicros(*q.overdue_at));
    bind_int(absl::ToUnixMicros(*q.overdue_at));
  }
  if (!q.towns.empty()) {
    std::vector<std::string> marks(q.towns.size(), "?");
    absl::StrAppend(&where, " AND r.resolved_town IN (", absl::StrJoin(marks, ","), ")");
    for (const auto& t : q.towns) bind_text(t);
  }
  if (!q.rule_id.empty()) {
    absl::StrAppend(&where, " AND EXISTS (SELECT 1 FROM deliveries d WHERE d.referral_id = "
                            "r.referral_id AND (',' || d.rule_ids || ',') LIKE ?)");
    bind_text(absl::StrCat("%,", q.rule_id, ",%"));
  }
  if (!q.agency_id.empty()) {
    absl::StrAppend(&where, " AND EXISTS (SELECT 1 FROM deliveries d WHERE d.referral_id = "
                            "r.referral_id AND d.agency_id = ?)");
    bind_text(q.agency_id);
  }
  if (q.received_from) {
    absl::StrAppend(&where, " AND r.received_at >= ?");
    bind_int(absl::ToUnixMicros(*q.received_from));
  }
  if (q.received_to) {
    absl::StrAppend(&where, " AND r.received_at < ?");
    bind_int(absl::ToUnixMicros(*q.received_to));
  }
  if (q.before) {
    absl::StrAppend(&where, " AND (r.accepted_at < ? OR (r.accepted_at = ? AND r.referral_id < ?))");
    bind_int(absl::ToUnixMicros(q.before->first));
    bind_int(absl::ToUnixMicros(q.before->first));
    bind_text(q.before->second);
  }
  const int64_t now = absl::ToUnixMicros(q.overdue_at.value_or(absl::Now()));
  const std::string sql = absl::StrCat(
      "SELECT r.referral_id, r.careline_report_id, r.priority, r.resolved_town, r.received_at, "
      "r.accepted_at, "
      "(SELECT COUNT(*) FROM deliveries d WHERE d.referral_id = r.referral_id AND d.kind = ",
      int64_t{v1::REFERRAL}, "), "
      "(SELECT COUNT(*) FROM deliveries d WHERE d.referral_id = r.referral_id AND d.state = ",
      int64_t{v1::ACKNOWLEDGED}, "), "
      "(SELECT COUNT(*) FROM deliveries d WHERE d.referral_id = r.referral_id AND ",
      overdue_clause, "), "
      "(SELECT COUNT(*) FROM deliveries d WHERE d.referral_id = r.referral_id AND d.state = ",
      int64_t{v1::DEAD}, " AND d.redelivered_as = ''), "
      "(SELECT COUNT(*) FROM deliveries d WHERE d.referral_id = r.referral_id AND d.state = ",
      int64_t{v1::DECLINED}, " AND d.redelivered_as = ''), "
      "(SELECT MIN(d.ack_deadline) FROM deliveries d WHERE d.referral_id = r.referral_id AND "
      "d.kind = ", int64_t{v1::REFERRAL}, " AND d.state != ", int64_t{v1::ACKNOWLEDGED},
      " AND d.redelivered_as = '') "
      "FROM referrals r WHERE ", where, " ORDER BY r.accepted_at DESC, r.referral_id DESC LIMIT ?");
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(sql));
  int i = 1;
  // The overdue count in the select list comes first in the text.
  stmt->Bind(i++, now);
  stmt->Bind(i++, now);
  for (auto& bind : binds) bind(*stmt, i);
  stmt->Bind(i++, static_cast<int64_t>(q.limit));
  return sqlite::CollectRows(*stmt, ReadSummary);
}

absl::StatusOr<std::vector<DeliveryWithAcks>> SqliteBackend::GetDeliveries(
    const std::string& referral_id) {
  HART_ASSIGN_OR_RETURN(reader, db_->AcquireReader());
  std::vector<DeliveryWithAcks> out;
  {
    HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(absl::StrCat(
        "SELECT ", sqlite::kDeliveryColumns, " FROM deliveries d WHERE d.referral_id = ? "
        "ORDER BY d.rowid")));
    stmt->Bind(1, referral_id);
    HART_ASSIGN_OR_RETURN(rows, sqlite::CollectRows(*stmt, [](const Statement& s) {
      return DeliveryWithAcks{sqlite::ReadDelivery(s), {}, {}};
    }));
    out = std::move(rows);
  }
  for (auto& item : out) {
    HART_ASSIGN_OR_RETURN(acks, reader.db().Prepare(
        "SELECT kind, note, actor, recorded_at FROM acks WHERE delivery_id = ? "
        "ORDER BY ack_id"));
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
  }
  return out;
}

}  // namespace hart
