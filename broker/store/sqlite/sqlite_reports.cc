// SqliteBackend: the referrals a compliance report reads, one page at a time
// in (received_at, referral_id) order through referrals_by_received, each
// with its data key row and its deliveries (through deliveries_by_referral).
#include "absl/strings/str_cat.h"
#include "broker/common/status_macros.h"
#include "broker/store/sqlite/sqlite_backend.h"
#include "broker/store/sqlite/sqlite_read_sql.h"
#include "broker/store/sqlite/sqlite_rows.h"

namespace hart {

using sqlite::Statement;

namespace {

ReportReferral ReadReportRow(const Statement& s) {
  ReportReferral r;
  r.referral_id = s.Text(0);
  r.received_at = absl::FromUnixMicros(s.Int(1));
  r.accepted_at = absl::FromUnixMicros(s.Int(2));
  r.resolved_town = s.Text(3);
  r.sealed_at = sqlite::OptTime(s, 4);
  r.sealed_intake = s.Text(5);
  if (!s.IsNull(6)) {
    r.data_key = {r.referral_id, s.Text(6), s.IsNull(7) ? std::string() : s.Text(7), s.IsNull(7)};
  }
  return r;
}

}  // namespace

absl::StatusOr<std::vector<ReportReferral>> SqliteBackend::ReadReportPage(
    const ReportPageQuery& q) {
  if (q.limit == 0) return absl::InvalidArgumentError("a report page needs a limit above 0");
  HART_ASSIGN_OR_RETURN(reader, db_->AcquireReader());
  const auto cursor = q.after.value_or(std::make_pair(q.received_from, std::string()));
  std::vector<ReportReferral> page;
  {
    HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(sqlite::read_sql::ReportPage()));
    stmt->Bind(1, int64_t{q.with_intake})
        .Bind(2, absl::ToUnixMicros(cursor.first))
        .Bind(3, cursor.second)
        .Bind(4, absl::ToUnixMicros(q.received_from))
        .Bind(5, absl::ToUnixMicros(q.received_to))
        .Bind(6, static_cast<int64_t>(q.limit));
    HART_ASSIGN_OR_RETURN(rows, sqlite::CollectRows(*stmt, ReadReportRow));
    page = std::move(rows);
  }
  auto read_delivery = [](const Statement& s) { return sqlite::ReadDelivery(s); };
  for (ReportReferral& r : page) {
    HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(sqlite::read_sql::DeliveriesOfReferral()));
    stmt->Bind(1, r.referral_id);
    HART_ASSIGN_OR_RETURN(deliveries, sqlite::CollectRows(*stmt, read_delivery));
    r.deliveries = std::move(deliveries);
  }
  return page;
}

}  // namespace hart
