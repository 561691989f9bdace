// PostgresBackend: the referrals a compliance report reads, one page at a
// time in (received_at, referral_id) order through referrals_by_received,
// each with its data key row; then the page's deliveries in one statement
// (through deliveries_by_referral).
#include <map>

#include "absl/strings/str_cat.h"
#include "broker/common/status_macros.h"
#include "broker/store/postgres/pg_backend.h"
#include "broker/store/postgres/pg_rows.h"

namespace hart {

namespace {

// Ids compare bytewise (COLLATE "C"), as in SQLite and as the index is
// built. Without a cursor the page starts at (received_from, ''): no
// referral id is empty.
constexpr char kReportPageSql[] =
    "SELECT r.referral_id, r.received_at, r.accepted_at, r.resolved_town, r.sealed_at, "
    "CASE WHEN $1::bigint = 1 THEN r.intake ELSE ''::bytea END, k.key_id, k.wrapped "
    "FROM referrals r LEFT JOIN referral_keys k ON k.referral_id = r.referral_id "
    "WHERE (r.received_at, r.referral_id COLLATE \"C\") > ($2::bigint, $3::text COLLATE \"C\") "
    "AND r.received_at >= $4::bigint AND r.received_at < $5::bigint "
    "ORDER BY r.received_at, r.referral_id COLLATE \"C\" LIMIT $6";

ReportReferral ReadReportRow(const pg::PgResult& rows, int row) {
  ReportReferral r;
  r.referral_id = rows.Text(row, 0);
  r.received_at = rows.Time(row, 1);
  r.accepted_at = rows.Time(row, 2);
  r.resolved_town = rows.Text(row, 3);
  r.sealed_at = rows.OptTime(row, 4);
  r.sealed_intake = rows.Bytes(row, 5);
  if (!rows.IsNull(row, 6)) {
    const bool destroyed = rows.IsNull(row, 7);
    r.data_key = {r.referral_id, rows.Text(row, 6),
                  destroyed ? std::string() : rows.Bytes(row, 7), destroyed};
  }
  return r;
}

}  // namespace

absl::StatusOr<std::vector<ReportReferral>> PostgresBackend::ReadReportPage(
    const ReportPageQuery& q) {
  if (q.limit == 0) return absl::InvalidArgumentError("a report page needs a limit above 0");
  HART_ASSIGN_OR_RETURN(lease, pool_->Acquire());
  const auto cursor = q.after.value_or(std::make_pair(q.received_from, std::string()));
  HART_ASSIGN_OR_RETURN(rows, lease.conn().Query(
      kReportPageSql, pg::PgParams()
                          .Int(q.with_intake ? 1 : 0)
                          .Micros(cursor.first)
                          .Text(cursor.second)
                          .Micros(q.received_from)
                          .Micros(q.received_to)
                          .Limit(q.limit)));
  std::vector<ReportReferral> page;
  page.reserve(rows.rows());
  std::vector<std::string> ids;
  std::map<std::string, size_t> position;
  for (int row = 0; row < rows.rows(); ++row) {
    page.push_back(ReadReportRow(rows, row));
    ids.push_back(page.back().referral_id);
    position[page.back().referral_id] = page.size() - 1;
  }
  if (page.empty()) return page;
  // Creation order is created_seq (SQLite's rowid).
  HART_ASSIGN_OR_RETURN(deliveries, lease.conn().Query(
      absl::StrCat("SELECT ", pg::kDeliveryColumns, " FROM deliveries d "
                   "WHERE d.referral_id = ANY ($1::text[]) ORDER BY d.created_seq"),
      pg::PgParams().Array(pg::TextArray(ids)), pg::kPlanEachRun));
  for (int row = 0; row < deliveries.rows(); ++row) {
    DeliveryRecord d = pg::ReadDelivery(deliveries, row);
    auto it = position.find(d.referral_id);
    if (it != position.end()) page[it->second].deliveries.push_back(std::move(d));
  }
  return page;
}

}  // namespace hart
