#include "broker/store/postgres/pg_write_lock.h"

#include "broker/common/status_macros.h"
#include "broker/store/postgres/pg_audit_rows.h"

namespace hart::pg {

namespace {

void AddReferral(const NewReferral& item, WriteReads& reads) {
  reads.report_ids.insert(item.referral.careline_report_id);
  for (const FeedAppend& a : item.feed_appends) reads.feed_agencies.insert(a.agency_id);
}

ArrayParam ArrayOf(const std::set<std::string>& values) {
  ArrayParam array;
  for (const std::string& value : values) array.Add(value);
  return array;
}

}  // namespace

WriteReads WriteReadsFor(std::span<const WriteRequest> batch) {
  WriteReads reads;
  for (const WriteRequest& request : batch) {
    if (const auto* item = std::get_if<NewReferral>(&request)) AddReferral(*item, reads);
    if (const auto* feed = std::get_if<FeedAppendWrite>(&request)) {
      reads.feed_agencies.insert(feed->append.agency_id);
    }
  }
  return reads;
}

WriteReads WriteReadsFor(std::span<const NewReferral> batch) {
  WriteReads reads;
  for (const NewReferral& item : batch) AddReferral(item, reads);
  return reads;
}

absl::StatusOr<LockedWrite> BeginLockedWrite(PgConn& conn, const WriteReads& reads) {
  HART_RETURN_IF_ERROR(conn.Defer(kBegin, {}, /*prepare=*/false));
  PgResult tree(nullptr), heads(nullptr), reports(nullptr);
  HART_RETURN_IF_ERROR(conn.DeferQuery(
      "SELECT size, compact_range FROM audit_tree WHERE id = 1 FOR UPDATE", {}, &tree));
  if (!reads.feed_agencies.empty()) {
    HART_RETURN_IF_ERROR(conn.DeferQuery(
        "SELECT agency_id, last_sequence FROM feed_heads WHERE agency_id = ANY ($1::text[])",
        PgParams().Array(ArrayOf(reads.feed_agencies).Literal()), &heads));
  }
  if (!reads.report_ids.empty()) {
    HART_RETURN_IF_ERROR(conn.DeferQuery(
        "SELECT careline_report_id, content_sha256, receipt, sealed_at IS NOT NULL FROM referrals "
        "WHERE careline_report_id = ANY ($1::text[])",
        PgParams().Array(ArrayOf(reads.report_ids).Literal()), &reports, kPlanEachRun));
  }
  HART_RETURN_IF_ERROR(conn.Flush());

  HART_ASSIGN_OR_RETURN(range, TreeStateFrom(tree));
  LockedWrite locked{std::move(range), {}, std::nullopt};
  for (const std::string& agency : reads.feed_agencies) locked.feed_heads[agency] = 0;
  if (!reads.feed_agencies.empty()) {
    for (int row = 0; row < heads.rows(); ++row) {
      locked.feed_heads[heads.Text(row, 0)] = heads.Int(row, 1);
    }
  }
  if (!reads.report_ids.empty()) {
    locked.reports.emplace();
    for (int row = 0; row < reports.rows(); ++row) {
      (*locked.reports)[reports.Text(row, 0)] = {reports.Bytes(row, 1), reports.Bytes(row, 2),
                                                 reports.Bool(row, 3)};
    }
  }
  return locked;
}

}  // namespace hart::pg
