// PostgresBackend: durable timers (claimed with owner and fencing lease) and
// the escalation events their ladder steps produce.
#include <algorithm>
#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/common/status_macros.h"
#include "broker/store/postgres/pg_rows.h"
#include "broker/store/postgres/pg_transaction.h"

namespace hart {
namespace {

std::vector<TimerRecord> ReadTimers(const pg::PgResult& rows) {
  std::vector<TimerRecord> out;
  out.reserve(rows.rows());
  for (int r = 0; r < rows.rows(); ++r) out.push_back(pg::ReadTimer(rows, r));
  return out;
}

std::vector<EscalationRecord> ReadEscalationRows(const pg::PgResult& rows) {
  std::vector<EscalationRecord> out;
  out.reserve(rows.rows());
  for (int r = 0; r < rows.rows(); ++r) out.push_back(pg::ReadEscalation(rows, r));
  return out;
}

}  // namespace

absl::StatusOr<std::vector<TimerRecord>> PostgresBackend::ClaimDueTimers(absl::Time now,
                                                                         absl::Time lease_until,
                                                                         size_t limit) {
  std::vector<TimerRecord> claimed;
  absl::Status status = InClaimTransaction([&](pg::PgConn& conn) -> absl::Status {
    claimed.clear();
    // A literal, not a parameter, so the partial index timers_pending_due
    // matches under a generic plan too.
    static_assert(pg::kTimerPending == 0, "literal in the query below");
    // One statement: SKIP LOCKED leaves timers another replica is claiming
    // right now to it, and the lease (fencing value) grows with the claim.
    HART_ASSIGN_OR_RETURN(rows, conn.Query(absl::StrCat(
        "WITH c (id) AS (SELECT timer_id FROM timers WHERE state = 0 AND due_at <= $1 "
        "AND (lease_until IS NULL OR lease_until <= $1) "
        "ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED) "
        "UPDATE timers SET lease_until = $3, lease = timers.lease + 1, claim_owner = $4 "
        "FROM c WHERE timers.timer_id = c.id RETURNING ", pg::kTimerColumns),
        pg::PgParams().Micros(now).Limit(limit).Micros(lease_until)
            .Text(options_.broker_id)));
    claimed = ReadTimers(rows);
    // RETURNING has no order: restore the query's (timer_id breaks ties,
    // which SQLite left to rowid order). due_at is not changed by the claim.
    std::sort(claimed.begin(), claimed.end(), [](const TimerRecord& a, const TimerRecord& b) {
      if (a.due_at != b.due_at) return a.due_at < b.due_at;
      return a.timer_id < b.timer_id;
    });
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return claimed;
}

absl::StatusOr<std::vector<TimerRecord>> PostgresBackend::PendingTimers(
    const std::string& referral_id) {
  HART_ASSIGN_OR_RETURN(lease, pool_->Acquire());
  HART_ASSIGN_OR_RETURN(rows, lease.conn().Query(
      absl::StrCat("SELECT ", pg::kTimerColumns, " FROM timers "
                   "WHERE referral_id = $1 AND state = $2 ORDER BY due_at, timer_id"),
      pg::PgParams().Text(referral_id).Int(pg::kTimerPending)));
  return ReadTimers(rows);
}

absl::StatusOr<uint64_t> PostgresBackend::WriteEscalation(pg::PgWrite& w,
                                                          const EscalationWrite& write) {
  uint64_t sequence = 0;
  const absl::Time at =
      write.event ? write.event->at : (write.next ? write.next->due_at : absl::Now());
  HART_RETURN_IF_ERROR(
      pg::MarkTimerFired(w.conn, write.fired_timer_id, write.fired_timer_lease, at));
  for (const DeliveryRecord& d : write.notices) {
    HART_RETURN_IF_ERROR(pg::InsertDelivery(w.conn, d));
  }
  if (!write.notices.empty() || write.next) w.changes.work = true;
  if (write.event) w.changes.escalations = true;
  if (write.event) {
    const EscalationRecord& e = *write.event;
    // The next global sequence: every write transaction holds the audit_tree
    // row lock, so no other writer in the cluster assigns one until this
    // commits (gap-free, in commit order).
    HART_ASSIGN_OR_RETURN(row, w.conn.Query(
        "INSERT INTO escalation_events (sequence, at, referral_id, delivery_id, agency_id, "
        "reason, step, targets, notice_delivery_ids, notified_agency_ids) "
        "SELECT COALESCE(MAX(sequence), 0) + 1, $1, $2, $3, $4, $5, $6, $7, $8, $9 "
        "FROM escalation_events RETURNING sequence",
        pg::PgParams().Micros(e.at).Text(e.referral_id).Text(e.delivery_id)
            .Text(e.agency_id).Int(e.reason).Int(e.step).Text(pg::JoinTargets(e.targets))
            .Text(absl::StrJoin(e.notice_delivery_ids, ","))
            .Text(absl::StrJoin(e.notified_agency_ids, ","))));
    if (row.rows() != 1) return absl::InternalError("escalation sequence not assigned");
    sequence = static_cast<uint64_t>(row.Int(0, 0));
  }
  if (write.next) HART_RETURN_IF_ERROR(pg::InsertTimer(w.conn, *write.next, at));
  for (const AuditEvent& e : write.audit) HART_RETURN_IF_ERROR(AppendLeaf(w, e).status());
  return sequence;
}

absl::StatusOr<uint64_t> PostgresBackend::ApplyEscalationStep(const EscalationWrite& write) {
  uint64_t sequence = 0;
  absl::Status status = InWriteTransaction([&](pg::PgWrite& w) -> absl::Status {
    HART_ASSIGN_OR_RETURN(written, WriteEscalation(w, write));
    sequence = written;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return sequence;
}

absl::StatusOr<std::vector<EscalationRecord>> PostgresBackend::ReadEscalations(uint64_t after,
                                                                              size_t limit) {
  HART_ASSIGN_OR_RETURN(lease, pool_->Acquire());
  HART_ASSIGN_OR_RETURN(rows, lease.conn().Query(
      absl::StrCat("SELECT ", pg::kEscalationColumns,
                   " FROM escalation_events WHERE sequence > $1 ORDER BY sequence LIMIT $2"),
      pg::PgParams().Int(static_cast<int64_t>(after)).Limit(limit)));
  return ReadEscalationRows(rows);
}

absl::StatusOr<std::vector<EscalationRecord>> PostgresBackend::EscalationsOf(
    const std::string& delivery_id) {
  HART_ASSIGN_OR_RETURN(lease, pool_->Acquire());
  HART_ASSIGN_OR_RETURN(rows, lease.conn().Query(
      absl::StrCat("SELECT ", pg::kEscalationColumns,
                   " FROM escalation_events WHERE delivery_id = $1 ORDER BY sequence"),
      pg::PgParams().Text(delivery_id)));
  return ReadEscalationRows(rows);
}

}  // namespace hart
