// SqliteBackend: the outbox — claims with owner and fencing value, outcomes,
// redelivery and the next due time.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/common/status_macros.h"
#include "broker/store/agency_holds.h"
#include "broker/store/ladder_starts.h"
#include "broker/store/sqlite/sqlite_read_sql.h"
#include "broker/store/sqlite/sqlite_rows.h"
#include "broker/store/sqlite/sqlite_transaction.h"

namespace hart {

using sqlite::SqliteDb;

namespace {

absl::StatusOr<PendingByAgency> ReadPendingByAgency(SqliteDb& db) {
  HART_ASSIGN_OR_RETURN(stmt, db.Prepare(sqlite::read_sql::PendingByAgency()));
  return sqlite::CollectRows(*stmt, [](const sqlite::Statement& s) {
    return std::make_pair(s.Text(0), absl::FromUnixMicros(s.Int(1)));
  });
}

// Up to `limit` due PENDING deliveries, earliest first. With no hold in
// force, one range of deliveries_due; otherwise agency by agency, skipping
// the held ones without reading their backlog.
absl::StatusOr<std::vector<DeliveryRecord>> SelectDue(SqliteDb& db, absl::Time now, size_t limit,
                                                      std::span<const AgencyHold> holds) {
  if (holds.empty()) {
    HART_ASSIGN_OR_RETURN(due, db.Prepare(sqlite::read_sql::DueDeliveries()));
    due->Bind(1, absl::ToUnixMicros(now)).Bind(2, static_cast<int64_t>(limit));
    return sqlite::CollectRows(*due, [](const sqlite::Statement& s) {
      return sqlite::ReadDelivery(s);
    });
  }
  HART_ASSIGN_OR_RETURN(pending, ReadPendingByAgency(db));
  std::vector<std::pair<int64_t, int64_t>> due_rowids;  // (next_attempt_at, rowid)
  for (const auto& [agency_id, earliest] : pending) {
    if (earliest > now || FindHold(holds, agency_id) != nullptr) continue;
    HART_ASSIGN_OR_RETURN(stmt, db.Prepare(sqlite::read_sql::DueDeliveriesOfAgency()));
    stmt->Bind(1, agency_id).Bind(2, absl::ToUnixMicros(now))
        .Bind(3, static_cast<int64_t>(limit));
    HART_ASSIGN_OR_RETURN(rows, sqlite::CollectRows(*stmt, [](const sqlite::Statement& s) {
      return std::make_pair(s.Int(1), s.Int(0));
    }));
    due_rowids.insert(due_rowids.end(), rows.begin(), rows.end());
  }
  // The same order as the single range: due time, then rowid.
  std::sort(due_rowids.begin(), due_rowids.end());
  if (due_rowids.size() > limit) due_rowids.resize(limit);
  std::vector<DeliveryRecord> due;
  due.reserve(due_rowids.size());
  for (const auto& [at, rowid] : due_rowids) {
    HART_ASSIGN_OR_RETURN(stmt, db.Prepare(sqlite::read_sql::DeliveryByRowid()));
    stmt->Bind(1, rowid);
    HART_ASSIGN_OR_RETURN(row, stmt->Step());
    if (!row) return absl::InternalError("a due delivery vanished inside its transaction");
    due.push_back(sqlite::ReadDelivery(*stmt));
  }
  return due;
}

}  // namespace

absl::StatusOr<std::vector<DeliveryRecord>> SqliteBackend::ClaimDueDeliveries(
    absl::Time now, absl::Time lease_until, size_t limit, std::span<const AgencyHold> holds) {
  const std::vector<AgencyHold> held = ActiveHolds(holds, now);
  std::vector<DeliveryRecord> claimed;
  absl::Status status = InWriteTransaction([&](SqliteDb& db) -> absl::Status {
    claimed.clear();
    static_assert(v1::PENDING == 1 && v1::IN_FLIGHT == 2 && v1::URGENT == 2,
                  "literals in sqlite_read_sql.h");
    // In order, each on its own index: due URGENT deliveries (held agency or
    // not), due retries and first attempts, then claims (anyone's) whose
    // lease expired before they were handed off. The first two are each
    // claimed before the next is selected, so the second cannot select the
    // first's; the expired ones are selected before any claim, which with a
    // lease ending by `now` would make them expired too.
    auto claim = [&](std::vector<DeliveryRecord> rows) -> absl::Status {
      for (DeliveryRecord& d : rows) {
        HART_ASSIGN_OR_RETURN(update, db.Prepare(
            "UPDATE deliveries SET state = ?, attempts = attempts + 1, "
            "last_attempt_at = ?, lease_until = ?, claim_owner = ? WHERE delivery_id = ?"));
        update->Bind(1, int64_t{v1::IN_FLIGHT}).Bind(2, absl::ToUnixMicros(now))
            .Bind(3, absl::ToUnixMicros(lease_until)).Bind(4, options_.broker_id)
            .Bind(5, d.delivery_id);
        HART_RETURN_IF_ERROR(update->Run());
        d.state = v1::IN_FLIGHT;
        d.attempts += 1;
        d.last_attempt_at = now;
        d.lease_until = lease_until;
        d.claim_owner = options_.broker_id;
        claimed.push_back(std::move(d));
      }
      return absl::OkStatus();
    };
    auto read_delivery = [](const sqlite::Statement& s) { return sqlite::ReadDelivery(s); };
    HART_ASSIGN_OR_RETURN(expired, db.Prepare(sqlite::read_sql::ExpiredUnsentClaims()));
    expired->Bind(1, absl::ToUnixMicros(now)).Bind(2, static_cast<int64_t>(limit));
    HART_ASSIGN_OR_RETURN(rescued, sqlite::CollectRows(*expired, read_delivery));
    HART_ASSIGN_OR_RETURN(urgent, db.Prepare(sqlite::read_sql::UrgentDueDeliveries()));
    urgent->Bind(1, absl::ToUnixMicros(now)).Bind(2, static_cast<int64_t>(limit));
    HART_ASSIGN_OR_RETURN(first, sqlite::CollectRows(*urgent, read_delivery));
    HART_RETURN_IF_ERROR(claim(std::move(first)));
    if (claimed.size() < limit) {
      HART_ASSIGN_OR_RETURN(due, SelectDue(db, now, limit - claimed.size(), held));
      HART_RETURN_IF_ERROR(claim(std::move(due)));
    }
    rescued.resize(std::min(rescued.size(), limit - claimed.size()));
    return claim(std::move(rescued));
  });
  if (!status.ok()) return status;
  return claimed;
}

absl::Status SqliteBackend::ReleaseClaims(absl::Time now) {
  return InWriteTransaction([&](SqliteDb& db) -> absl::Status {
    static_assert(v1::IN_FLIGHT == 2 && sqlite::kTimerPending == 0,
                  "literals in sqlite_read_sql.h");
    HART_ASSIGN_OR_RETURN(update, db.Prepare(sqlite::read_sql::ReleaseDeliveryClaims()));
    update->Bind(1, int64_t{v1::PENDING}).Bind(2, absl::ToUnixMicros(now))
        .Bind(3, options_.broker_id);
    HART_RETURN_IF_ERROR(update->Run());
    HART_ASSIGN_OR_RETURN(timers, db.Prepare(sqlite::read_sql::ReleaseTimerClaims()));
    timers->Bind(1, options_.broker_id);
    return timers->Run();
  });
}

absl::StatusOr<std::optional<absl::Time>> SqliteBackend::NextDueTime(
    std::span<const AgencyHold> holds) {
  HART_ASSIGN_OR_RETURN(reader, db_->AcquireReader());
  const std::string& sql = holds.empty() ? sqlite::read_sql::NextDueTime()
                                         : sqlite::read_sql::NextDueTimeOfUrgentClaimsAndTimers();
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(sql));
  HART_ASSIGN_OR_RETURN(row, stmt->Step());
  std::optional<absl::Time> next;
  if (row && !stmt->IsNull(0)) next = absl::FromUnixMicros(stmt->Int(0));
  if (holds.empty()) return next;
  stmt.Release();
  HART_ASSIGN_OR_RETURN(pending, ReadPendingByAgency(reader.db()));
  return Earlier(next, EarliestClaimable(pending, holds));
}

absl::Status SqliteBackend::RecordOutcomes(std::span<const DeliveryOutcome> outcomes) {
  return InWriteTransaction([&](SqliteDb& db) -> absl::Status {
    for (const DeliveryOutcome& o : outcomes) {
      // Applied only to the claim it answers: same state and fencing value.
      HART_ASSIGN_OR_RETURN(update, db.Prepare(
          "UPDATE deliveries SET state = ?, next_attempt_at = ?, last_error = ?, "
          "lease_until = NULL, transport_ref = COALESCE(NULLIF(?, ''), transport_ref), "
          "delivered_at = CASE WHEN ? THEN ? ELSE delivered_at END, "
          "attempts = attempts - ? "
          "WHERE delivery_id = ? AND state = ? AND attempts = ?"));
      const bool delivered = o.new_state == v1::DELIVERED;
      update->Bind(1, int64_t{o.new_state}).Bind(2, absl::ToUnixMicros(o.next_attempt_at))
          .Bind(3, o.error).Bind(4, o.transport_ref).Bind(5, int64_t{delivered})
          .Bind(6, absl::ToUnixMicros(o.at)).Bind(7, int64_t{o.attempted ? 0 : 1})
          .Bind(8, o.delivery_id).Bind(9, int64_t{v1::IN_FLIGHT}).Bind(10, int64_t{o.attempt});
      HART_RETURN_IF_ERROR(update->Run());
      // Acknowledged while the attempt ran, or claimed again since: the
      // newer state stands and the outcome is history only.
      if (db.Changes() != 1) continue;
      HART_RETURN_IF_ERROR(AppendLeaf(db, o.audit).status());
      if (o.ladder) HART_RETURN_IF_ERROR(sqlite::TriggerLadder(db, o.delivery_id, *o.ladder));
    }
    return absl::OkStatus();
  });
}

absl::Status SqliteBackend::ApplyRedelivery(const RedeliveryWrite& w) {
  return InWriteTransaction([&](SqliteDb& db) -> absl::Status {
    HART_ASSIGN_OR_RETURN(mark, db.Prepare(
        "UPDATE deliveries SET redelivered_as = ?, ladder_due_at = NULL "
        "WHERE delivery_id = ? AND state = ? AND redelivered_as = ''"));
    mark->Bind(1, w.new_delivery.delivery_id).Bind(2, w.old_delivery_id)
        .Bind(3, int64_t{w.expected_state});
    HART_RETURN_IF_ERROR(mark->Run());
    if (db.Changes() != 1) {
      return absl::AbortedError("the delivery changed or was already redelivered");
    }
    HART_RETURN_IF_ERROR(sqlite::StopLadder(db, w.old_delivery_id, w.new_delivery.created_at));
    std::span<const TimerRecord> ladder;
    if (w.ladder) ladder = {&*w.ladder, 1};
    const SplitLadderStarts timers = SplitTimersForDeliveries({&w.new_delivery, 1}, ladder);
    HART_RETURN_IF_ERROR(
        sqlite::InsertDelivery(db, w.new_delivery, timers.For(w.new_delivery.delivery_id)));
    for (const TimerRecord* t : timers.in_table) {
      HART_RETURN_IF_ERROR(sqlite::InsertTimer(db, *t, w.new_delivery.created_at));
    }
    for (const AuditEvent& e : w.audit) HART_RETURN_IF_ERROR(AppendLeaf(db, e).status());
    return absl::OkStatus();
  });
}

absl::StatusOr<DeliveryRecord> SqliteBackend::GetDelivery(const std::string& delivery_id) {
  HART_ASSIGN_OR_RETURN(reader, db_->AcquireReader());
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(sqlite::read_sql::GetDelivery()));
  stmt->Bind(1, delivery_id);
  HART_ASSIGN_OR_RETURN(row, stmt->Step());
  if (!row) return absl::NotFoundError(absl::StrCat("no delivery ", delivery_id));
  return sqlite::ReadDelivery(*stmt);
}

std::vector<absl::StatusOr<DeliveryRecord>> SqliteBackend::GetDeliveriesByIds(
    std::span<const std::string> delivery_ids) {
  std::vector<absl::StatusOr<DeliveryRecord>> deliveries;
  deliveries.reserve(delivery_ids.size());
  auto read_all = [&](sqlite::SqliteDb& db) -> absl::Status {
    HART_ASSIGN_OR_RETURN(stmt, db.Prepare(sqlite::read_sql::GetDelivery()));
    for (const std::string& id : delivery_ids) {
      stmt->Bind(1, id);
      HART_ASSIGN_OR_RETURN(row, stmt->Step());
      deliveries.push_back(row ? absl::StatusOr<DeliveryRecord>(sqlite::ReadDelivery(*stmt))
                               : absl::NotFoundError(absl::StrCat("no delivery ", id)));
      stmt->Reset();
    }
    return absl::OkStatus();
  };
  absl::Status read = [&]() -> absl::Status {
    HART_ASSIGN_OR_RETURN(reader, db_->AcquireReader());
    // One snapshot (and one page-cache refresh after the writer's commits)
    // for every id, not one per id.
    return reader.InSnapshot(read_all);
  }();
  if (!read.ok()) deliveries.assign(delivery_ids.size(), read);
  return deliveries;
}

}  // namespace hart
