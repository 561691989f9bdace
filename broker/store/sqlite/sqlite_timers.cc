// SqliteBackend: durable timers (claimed with owner and fencing lease) and
// the escalation events their ladder steps produce.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/common/status_macros.h"
#include "broker/store/sqlite/sqlite_read_sql.h"
#include "broker/store/sqlite/sqlite_rows.h"
#include "broker/store/sqlite/sqlite_transaction.h"

namespace hart {

using sqlite::SqliteDb;

absl::StatusOr<std::vector<TimerRecord>> SqliteBackend::ClaimDueTimers(absl::Time now,
                                                                       absl::Time lease_until,
                                                                       size_t limit) {
  std::vector<TimerRecord> claimed;
  absl::Status status = InWriteTransaction([&](SqliteDb& db) -> absl::Status {
    claimed.clear();
    HART_RETURN_IF_ERROR(sqlite::MoveDueLadderStarts(db, now, limit));
    HART_ASSIGN_OR_RETURN(select, db.Prepare(sqlite::read_sql::DueTimers()));
    select->Bind(1, absl::ToUnixMicros(now)).Bind(2, static_cast<int64_t>(limit));
    HART_ASSIGN_OR_RETURN(due, sqlite::CollectRows(*select, sqlite::ReadTimer));
    claimed = std::move(due);
    select.Release();
    for (auto& t : claimed) {
      HART_ASSIGN_OR_RETURN(lease, db.Prepare(
          "UPDATE timers SET lease_until = ?, lease = lease + 1, claim_owner = ? "
          "WHERE timer_id = ?"));
      lease->Bind(1, absl::ToUnixMicros(lease_until)).Bind(2, options_.broker_id)
          .Bind(3, t.timer_id);
      HART_RETURN_IF_ERROR(lease->Run());
      t.lease += 1;
      t.claim_owner = options_.broker_id;
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return claimed;
}

absl::StatusOr<std::vector<TimerRecord>> SqliteBackend::PendingTimers(
    const std::string& referral_id) {
  HART_ASSIGN_OR_RETURN(reader, db_->AcquireReader());
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(sqlite::read_sql::PendingTimers()));
  stmt->Bind(1, referral_id).Bind(2, sqlite::kTimerPending);
  HART_ASSIGN_OR_RETURN(timers, sqlite::CollectRows(*stmt, sqlite::ReadTimer));
  HART_ASSIGN_OR_RETURN(starts_stmt, reader.db().Prepare(sqlite::read_sql::PendingLadderStarts()));
  starts_stmt->Bind(1, referral_id);
  HART_ASSIGN_OR_RETURN(starts, sqlite::CollectRows(*starts_stmt, sqlite::ReadLadderStart));
  timers.insert(timers.end(), starts.begin(), starts.end());
  std::stable_sort(timers.begin(), timers.end(), [](const TimerRecord& a, const TimerRecord& b) {
    return a.due_at != b.due_at ? a.due_at < b.due_at : a.timer_id < b.timer_id;
  });
  return timers;
}

absl::StatusOr<uint64_t> SqliteBackend::WriteEscalation(SqliteDb& db, const EscalationWrite& w) {
  uint64_t sequence = 0;
  const absl::Time at = w.event ? w.event->at : (w.next ? w.next->due_at : absl::Now());
  HART_RETURN_IF_ERROR(sqlite::MarkTimerFired(db, w.fired_timer_id, w.fired_timer_lease, at));
  for (const DeliveryRecord& d : w.notices) HART_RETURN_IF_ERROR(sqlite::InsertDelivery(db, d));
  if (w.event) {
    const EscalationRecord& e = *w.event;
    HART_ASSIGN_OR_RETURN(insert, db.Prepare(
        "INSERT INTO escalation_events (at, referral_id, delivery_id, agency_id, reason, "
        "step, targets, notice_delivery_ids, notified_agency_ids) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING sequence"));
    insert->Bind(1, absl::ToUnixMicros(e.at)).Bind(2, e.referral_id).Bind(3, e.delivery_id)
        .Bind(4, e.agency_id).Bind(5, int64_t{e.reason}).Bind(6, int64_t{e.step})
        .Bind(7, sqlite::JoinTargets(e.targets))
        .Bind(8, absl::StrJoin(e.notice_delivery_ids, ","))
        .Bind(9, absl::StrJoin(e.notified_agency_ids, ","));
    HART_ASSIGN_OR_RETURN(row, insert->Step());
    if (!row) return absl::InternalError("escalation sequence not assigned");
    sequence = static_cast<uint64_t>(insert->Int(0));
    HART_RETURN_IF_ERROR(insert->Run());
  }
  if (w.next) HART_RETURN_IF_ERROR(sqlite::InsertTimer(db, *w.next, at));
  for (const AuditEvent& e : w.audit) HART_RETURN_IF_ERROR(AppendLeaf(db, e).status());
  return sequence;
}

absl::StatusOr<uint64_t> SqliteBackend::ApplyEscalationStep(const EscalationWrite& w) {
  uint64_t sequence = 0;
  absl::Status status = InWriteTransaction([&](SqliteDb& db) -> absl::Status {
    HART_ASSIGN_OR_RETURN(written, WriteEscalation(db, w));
    sequence = written;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return sequence;
}

absl::StatusOr<std::vector<EscalationRecord>> SqliteBackend::ReadEscalations(uint64_t after,
                                                                            size_t limit) {
  HART_ASSIGN_OR_RETURN(reader, db_->AcquireReader());
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(sqlite::read_sql::ReadEscalations()));
  stmt->Bind(1, static_cast<int64_t>(after)).Bind(2, static_cast<int64_t>(limit));
  return sqlite::CollectRows(*stmt, sqlite::ReadEscalation);
}

absl::StatusOr<std::vector<EscalationRecord>> SqliteBackend::EscalationsOf(
    const std::string& delivery_id) {
  HART_ASSIGN_OR_RETURN(reader, db_->AcquireReader());
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(sqlite::read_sql::EscalationsOf()));
  stmt->Bind(1, delivery_id);
  return sqlite::CollectRows(*stmt, sqlite::ReadEscalation);
}

}  // namespace hart
