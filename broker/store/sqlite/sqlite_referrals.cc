// SqliteBackend: referrals, supplements and sealing.
#include "absl/strings/str_cat.h"
#include "broker/common/status_macros.h"
#include "broker/store/intake_placements.h"
#include "broker/store/ladder_starts.h"
#include "broker/store/sqlite/sqlite_read_sql.h"
#include "broker/store/sqlite/sqlite_rows.h"
#include "broker/store/sqlite/sqlite_stored_acks.h"
#include "broker/store/sqlite/sqlite_transaction.h"

namespace hart {

using sqlite::SqliteDb;

absl::StatusOr<CreateReferralResult> SqliteBackend::WriteReferral(SqliteDb& db,
                                                                  const NewReferral& item) {
  const ReferralRecord& r = item.referral;
  HART_ASSIGN_OR_RETURN(find, db.Prepare(sqlite::read_sql::ReferralByCarelineId()));
  find->Bind(1, r.careline_report_id);
  HART_ASSIGN_OR_RETURN(found, find->Step());
  if (found) {
    CreateReferralResult result;
    result.outcome = find->Int(2) != 0 ? CreateReferralResult::Outcome::kSealed
                     : find->Text(0) == r.content_sha256
                         ? CreateReferralResult::Outcome::kDuplicate
                         : CreateReferralResult::Outcome::kConflict;
    if (!result.receipt.ParseFromString(find->Text(1))) {
      return absl::DataLossError("stored receipt does not parse");
    }
    return result;
  }
  // The receipt names the audit index of the referral's first event.
  v1::Receipt receipt = r.receipt;
  for (size_t i = 0; i < item.audit.size(); ++i) {
    HART_ASSIGN_OR_RETURN(index, AppendLeaf(db, item.audit[i]));
    if (i == 0) receipt.set_audit_index(index);
  }
  HART_ASSIGN_OR_RETURN(insert, db.Prepare(
      "INSERT INTO referrals (referral_id, careline_report_id, content_sha256, "
      "intake, receipt, priority, resolved_town, received_at, accepted_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  insert->Bind(1, r.referral_id).Bind(2, r.careline_report_id)
      .BindBlob(3, r.content_sha256).BindBlob(4, r.sealed_intake)
      .BindBlob(5, receipt.SerializeAsString()).Bind(6, int64_t{r.priority})
      .Bind(7, r.resolved_town).Bind(8, absl::ToUnixMicros(r.received_at))
      .Bind(9, absl::ToUnixMicros(r.accepted_at));
  HART_RETURN_IF_ERROR(insert->Run());
  HART_ASSIGN_OR_RETURN(key_row, db.Prepare(
      "INSERT INTO referral_keys (referral_id, key_id, wrapped) VALUES (?, ?, ?)"));
  key_row->Bind(1, r.referral_id).Bind(2, item.data_key.key_id)
      .BindBlob(3, item.data_key.wrapped);
  HART_RETURN_IF_ERROR(key_row->Run());
  // Deliveries created here are inserted already placed (intake_placements.h).
  HART_ASSIGN_OR_RETURN(placements, TakeIntakeSequences(item, [&](const std::string& agency) {
    return NextFeedSequence(db, agency);
  }));
  const SplitLadderStarts timers = SplitTimersForDeliveries(item.deliveries, item.timers);
  for (const DeliveryRecord& d : item.deliveries) {
    HART_RETURN_IF_ERROR(sqlite::InsertDelivery(
        db, d, timers.For(d.delivery_id), PlacedReference(placements, d.delivery_id)));
  }
  for (const TimerRecord* t : timers.in_table) {
    HART_RETURN_IF_ERROR(sqlite::InsertTimer(db, *t, r.accepted_at));
  }
  CreateReferralResult result{CreateReferralResult::Outcome::kCreated, std::move(receipt)};
  for (const IntakePlacement& p : placements) {
    HART_ASSIGN_OR_RETURN(appended,
                          p.sequence != 0 ? InsertFeedEvent(db, *p.append, p.sequence, r.accepted_at)
                                          : AppendFeedEvent(db, *p.append, r.accepted_at));
    result.feed_appends.push_back(std::move(appended));
  }
  return result;
}

absl::StatusOr<std::vector<CreateReferralResult>> SqliteBackend::CreateReferrals(
    std::span<const NewReferral> batch) {
  std::vector<CreateReferralResult> results;
  absl::Status status = InWriteTransaction([&](SqliteDb& db) -> absl::Status {
    results.clear();
    for (const NewReferral& item : batch) {
      HART_ASSIGN_OR_RETURN(result, WriteReferral(db, item));
      results.push_back(std::move(result));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return results;
}

absl::Status SqliteBackend::WriteChange(SqliteDb& db, const ReferralChange& c) {
  const int64_t at = absl::ToUnixMicros(c.at);
  HART_ASSIGN_OR_RETURN(update, db.Prepare(
      "UPDATE referrals SET intake = ?, receipt = ?, priority = ?, resolved_town = ?, "
      "version = version + 1 WHERE referral_id = ? AND version = ? AND sealed_at IS NULL"));
  update->BindBlob(1, c.sealed_intake).BindBlob(2, c.receipt.SerializeAsString())
      .Bind(3, int64_t{c.priority}).Bind(4, c.resolved_town).Bind(5, c.referral_id)
      .Bind(6, c.expected_version);
  HART_RETURN_IF_ERROR(update->Run());
  if (db.Changes() != 1) {
    return absl::AbortedError("the referral changed concurrently; retry");
  }
  // A delivery's priority is its referral's: what still waits for this one
  // is claimed by the new one (a supplement saying the child is in danger).
  HART_ASSIGN_OR_RETURN(reprioritize, db.Prepare(
      "UPDATE deliveries SET priority = ?1 WHERE referral_id = ?2 AND priority != ?1"));
  reprioritize->Bind(1, int64_t{c.priority}).Bind(2, c.referral_id);
  HART_RETURN_IF_ERROR(reprioritize->Run());
  const SplitLadderStarts timers = SplitTimersForDeliveries(c.new_deliveries, c.new_timers);
  for (const DeliveryRecord& d : c.new_deliveries) {
    HART_RETURN_IF_ERROR(sqlite::InsertDelivery(db, d, timers.For(d.delivery_id)));
  }
  if (!c.fired_timer_id.empty()) {
    HART_RETURN_IF_ERROR(sqlite::MarkTimerFired(db, c.fired_timer_id, c.fired_timer_lease, c.at));
  }
  // The states and kind as literals: a bound `state = ?` against the
  // timers' partial indexes made SQLite prepare it again on every bind.
  static_assert(sqlite::kTimerReplaced == 2 && sqlite::kTimerPending == 0 &&
                    sqlite::kTimerReroute == 0,
                "literals in the statement below");
  HART_ASSIGN_OR_RETURN(replace, db.Prepare(
      "UPDATE timers SET state = 2, finished_at = ?, lease_until = NULL "
      "WHERE referral_id = ? AND state = 0 AND kind = 0"));
  replace->Bind(1, at).Bind(2, c.referral_id);
  HART_RETURN_IF_ERROR(replace->Run());
  for (const TimerRecord* t : timers.in_table) {
    HART_RETURN_IF_ERROR(sqlite::InsertTimer(db, *t, c.at));
  }
  if (!c.supplement_id.empty()) {
    HART_ASSIGN_OR_RETURN(supplement, db.Prepare(
        "INSERT INTO supplements (supplement_id, referral_id, supplement_sha256, response, "
        "applied_at) VALUES (?, ?, ?, ?, ?)"));
    supplement->Bind(1, c.supplement_id).Bind(2, c.referral_id)
        .BindBlob(3, c.supplement_sha256).BindBlob(4, c.supplement_response).Bind(5, at);
    HART_RETURN_IF_ERROR(supplement->Run());
  }
  for (const AuditEvent& e : c.audit) HART_RETURN_IF_ERROR(AppendLeaf(db, e).status());
  return absl::OkStatus();
}

absl::Status SqliteBackend::ApplyReferralChange(const ReferralChange& c) {
  return InWriteTransaction([&](SqliteDb& db) { return WriteChange(db, c); });
}

absl::StatusOr<std::optional<StoredSupplement>> SqliteBackend::FindSupplement(
    const std::string& supplement_id) {
  HART_ASSIGN_OR_RETURN(reader, db_->AcquireReader());
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(sqlite::read_sql::FindSupplement()));
  stmt->Bind(1, supplement_id);
  HART_ASSIGN_OR_RETURN(row, stmt->Step());
  if (!row) return std::optional<StoredSupplement>();
  return std::optional<StoredSupplement>(
      StoredSupplement{stmt->Text(0), stmt->Text(1), stmt->Text(2)});
}

absl::StatusOr<std::vector<std::string>> SqliteBackend::ListSupplements(
    const std::string& referral_id) {
  HART_ASSIGN_OR_RETURN(reader, db_->AcquireReader());
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(sqlite::read_sql::ListSupplements()));
  stmt->Bind(1, referral_id);
  return sqlite::CollectRows(*stmt, [](const sqlite::Statement& s) { return s.Text(0); });
}

absl::StatusOr<std::string> SqliteBackend::FindReferralId(const std::string& careline_report_id) {
  HART_ASSIGN_OR_RETURN(reader, db_->AcquireReader());
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(sqlite::read_sql::FindReferralId()));
  stmt->Bind(1, careline_report_id);
  HART_ASSIGN_OR_RETURN(row, stmt->Step());
  if (!row) {
    return absl::NotFoundError("no referral has this carelineReportId");
  }
  return stmt->Text(0);
}

absl::StatusOr<ReferralRecord> SqliteBackend::GetReferral(const std::string& referral_id) {
  HART_ASSIGN_OR_RETURN(reader, db_->AcquireReader());
  HART_ASSIGN_OR_RETURN(stmt, reader.db().Prepare(sqlite::read_sql::GetReferral()));
  stmt->Bind(1, referral_id);
  HART_ASSIGN_OR_RETURN(row, stmt->Step());
  if (!row) return absl::NotFoundError(absl::StrCat("no referral ", referral_id));
  ReferralRecord r;
  r.referral_id = stmt->Text(0);
  r.careline_report_id = stmt->Text(1);
  r.content_sha256 = stmt->Text(2);
  r.sealed_intake = stmt->Text(3);
  if (!r.receipt.ParseFromString(stmt->Text(4))) {
    return absl::DataLossError(absl::StrCat("referral ", referral_id, ": receipt does not parse"));
  }
  r.priority = static_cast<v1::Priority>(stmt->Int(5));
  r.resolved_town = stmt->Text(6);
  r.received_at = absl::FromUnixMicros(stmt->Int(7));
  r.accepted_at = absl::FromUnixMicros(stmt->Int(8));
  r.version = stmt->Int(9);
  if (!stmt->IsNull(10)) r.sealed_at = absl::FromUnixMicros(stmt->Int(10));
  return r;
}

absl::StatusOr<SealResult> SqliteBackend::SealReferral(const SealWrite& w) {
  SealResult result;
  absl::Status status = InWriteTransaction([&](SqliteDb& db) -> absl::Status {
    result = {};
    const int64_t at = absl::ToUnixMicros(w.at);
    HART_ASSIGN_OR_RETURN(mark, db.Prepare(
        "UPDATE referrals SET sealed_at = ?, intake = x'', version = version + 1 "
        "WHERE referral_id = ? "
        "AND sealed_at IS NULL"));
    mark->Bind(1, at).Bind(2, w.referral_id);
    HART_RETURN_IF_ERROR(mark->Run());
    if (db.Changes() != 1) {
      HART_ASSIGN_OR_RETURN(exists, db.Prepare(sqlite::read_sql::ReferralExists()));
      exists->Bind(1, w.referral_id);
      HART_ASSIGN_OR_RETURN(known, exists->Step());
      if (!known) return absl::NotFoundError(absl::StrCat("no referral ", w.referral_id));
      return absl::FailedPreconditionError(
          absl::StrCat("referral ", w.referral_id, " is already sealed"));
    }
    // Destroying the wrapped data key is what makes the PII unrecoverable,
    // including any copy of the ciphertext in backups or the WAL.
    HART_ASSIGN_OR_RETURN(destroy, db.Prepare(
        "UPDATE referral_keys SET wrapped = NULL, destroyed_at = ? WHERE referral_id = ?"));
    destroy->Bind(1, at).Bind(2, w.referral_id);
    HART_RETURN_IF_ERROR(destroy->Run());
    HART_ASSIGN_OR_RETURN(notes, db.Prepare(
        "UPDATE acks SET note = x'' WHERE delivery_id IN "
        "(SELECT delivery_id FROM deliveries WHERE referral_id = ?)"));
    notes->Bind(1, w.referral_id);
    HART_RETURN_IF_ERROR(notes->Run());
    HART_RETURN_IF_ERROR(sqlite::EmptyStoredAckNotes(db, w.referral_id));
    // Deliveries that never left stop here.
    HART_ASSIGN_OR_RETURN(stop, db.Prepare(
        "UPDATE deliveries SET state = ?, lease_until = NULL WHERE referral_id = ? "
        "AND (state = ? OR (state = ? AND transport_ref = ''))"));
    stop->Bind(1, int64_t{v1::SEALED}).Bind(2, w.referral_id).Bind(3, int64_t{v1::PENDING})
        .Bind(4, int64_t{v1::IN_FLIGHT});
    HART_RETURN_IF_ERROR(stop->Run());
    result.stopped_deliveries = static_cast<uint32_t>(db.Changes());
    HART_ASSIGN_OR_RETURN(timers, db.Prepare(
        "UPDATE timers SET state = ?, finished_at = ?, lease_until = NULL "
        "WHERE referral_id = ? AND state = ?"));
    timers->Bind(1, sqlite::kTimerReplaced).Bind(2, at).Bind(3, w.referral_id)
        .Bind(4, sqlite::kTimerPending);
    HART_RETURN_IF_ERROR(timers->Run());
    HART_ASSIGN_OR_RETURN(starts, db.Prepare(
        "UPDATE deliveries INDEXED BY deliveries_by_referral SET ladder_due_at = NULL "
        "WHERE referral_id = ? AND ladder_due_at IS NOT NULL"));
    starts->Bind(1, w.referral_id);
    HART_RETURN_IF_ERROR(starts->Run());
    for (const DeliveryRecord& d : w.notices) HART_RETURN_IF_ERROR(sqlite::InsertDelivery(db, d));
    for (const AuditEvent& e : w.audit) HART_RETURN_IF_ERROR(AppendLeaf(db, e).status());
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

}  // namespace hart
