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
    // Literals, not parameters, so the partial indexes timers_pending_due
    // and deliveries_ladder_due match under a generic plan too.
    static_assert(pg::kTimerPending == 0 && pg::kTimerLadder == 1, "literals in the queries below");
    // Due ladder starts first become the timers they stand for (same id,
    // lease 0), so the claim below takes them like any other. SKIP LOCKED:
    // a delivery another transaction holds (a replica moving it, an ack
    // clearing it) is left to it. Sent with the claim, in its round trip.
    HART_RETURN_IF_ERROR(conn.Defer(
        "WITH due (id, due_at) AS (SELECT delivery_id, ladder_due_at FROM deliveries "
        "WHERE ladder_due_at IS NOT NULL AND ladder_due_at <= $1 "
        "ORDER BY ladder_due_at LIMIT $2 FOR UPDATE SKIP LOCKED), "
        "moved AS (UPDATE deliveries d SET ladder_due_at = NULL FROM due "
        "WHERE d.delivery_id = due.id RETURNING d.ladder_timer_id, d.referral_id, due.due_at, "
        "d.delivery_id, d.ladder_base_at, d.ladder_reason) "
        "INSERT INTO timers (timer_id, referral_id, due_at, rule_ids, state, created_at, kind, "
        "delivery_id, step, base_at, reason, lease) "
        "SELECT ladder_timer_id, referral_id, due_at, '', 0, $1, 1, delivery_id, 1, "
        "ladder_base_at, ladder_reason, 0 FROM moved",
        pg::PgParams().Micros(now).Limit(limit)));
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
  // Timer rows and the ladder starts still held in the referral's
  // deliveries, as one list.
  HART_ASSIGN_OR_RETURN(rows, lease.conn().Query(
      absl::StrCat("SELECT ", pg::kTimerColumns, " FROM timers "
                   "WHERE referral_id = $1 AND state = $2 "
                   "UNION ALL SELECT ", pg::kLadderStartColumns, " FROM deliveries "
                   "WHERE referral_id = $1 AND ladder_due_at IS NOT NULL "
                   "ORDER BY due_at, timer_id"),
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
