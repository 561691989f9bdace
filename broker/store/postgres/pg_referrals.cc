// PostgresBackend: referrals, supplements and sealing.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/common/status_macros.h"
#include "broker/store/intake_placements.h"
#include "broker/store/ladder_starts.h"
#include "broker/store/postgres/pg_rows.h"
#include "broker/store/postgres/pg_transaction.h"

namespace hart {

using pg::PgParams;

absl::StatusOr<CreateReferralResult> PostgresBackend::WriteReferral(pg::PgWrite& w,
                                                                    const NewReferral& item) {
  const ReferralRecord& r = item.referral;
  // Every writer holds the audit_tree lock and each statement reads the
  // latest commits (READ COMMITTED), so no other replica can insert this
  // careline_report_id between this check and the INSERT below.
  std::optional<pg::StoredReport> found;
  if (w.reports) {  // read with the lock for the whole batch
    if (auto it = w.reports->find(r.careline_report_id); it != w.reports->end()) {
      found = it->second;
    }
  } else {
    HART_ASSIGN_OR_RETURN(row, w.conn.Query(
        "SELECT content_sha256, receipt, sealed_at IS NOT NULL FROM referrals "
        "WHERE careline_report_id = $1",
        PgParams().Text(r.careline_report_id)));
    if (row.rows() > 0) found = pg::StoredReport{row.Bytes(0, 0), row.Bytes(0, 1), row.Bool(0, 2)};
  }
  if (found) {
    CreateReferralResult result;
    result.outcome = found->sealed ? CreateReferralResult::Outcome::kSealed
                     : found->content_sha256 == r.content_sha256
                         ? CreateReferralResult::Outcome::kDuplicate
                         : CreateReferralResult::Outcome::kConflict;
    if (!result.receipt.ParseFromString(found->receipt)) {
      return absl::DataLossError("stored receipt does not parse");
    }
    return result;
  }
  // The receipt names the audit index of the referral's first event.
  v1::Receipt receipt = r.receipt;
  for (size_t i = 0; i < item.audit.size(); ++i) {
    HART_ASSIGN_OR_RETURN(index, AppendLeaf(w, item.audit[i]));
    if (i == 0) receipt.set_audit_index(index);
  }
  HART_RETURN_IF_ERROR(w.conn.Defer(
      "INSERT INTO referrals (referral_id, careline_report_id, content_sha256, "
      "intake, receipt, priority, resolved_town, received_at, accepted_at) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
      PgParams().Text(r.referral_id).Text(r.careline_report_id).Bytes(r.content_sha256)
          .Bytes(r.sealed_intake).Bytes(receipt.SerializeAsString()).Int(r.priority)
          .Text(r.resolved_town).Micros(r.received_at).Micros(r.accepted_at)));
  HART_RETURN_IF_ERROR(w.conn.Defer(
      "INSERT INTO referral_keys (referral_id, key_id, wrapped) VALUES ($1, $2, $3)",
      PgParams().Text(r.referral_id).Text(item.data_key.key_id)
          .Bytes(item.data_key.wrapped)));
  // Deliveries created here are inserted already placed (intake_placements.h).
  HART_ASSIGN_OR_RETURN(placements, TakeIntakeSequences(item, [&](const std::string& agency) {
    return NextFeedSequence(w, agency);
  }));
  // Step-1 ladder timers go into their deliveries' rows (ladder_starts.h).
  const SplitLadderStarts split = SplitTimersForDeliveries(item.deliveries, item.timers);
  pg::PgDeliveryRows deliveries;
  for (const DeliveryRecord& d : item.deliveries) {
    deliveries.Add(d, split.For(d.delivery_id), PlacedReference(placements, d.delivery_id));
  }
  HART_RETURN_IF_ERROR(deliveries.Defer(w.conn));
  for (const TimerRecord* t : split.in_table) {
    HART_RETURN_IF_ERROR(pg::InsertTimer(w.conn, *t, r.accepted_at));
  }
  if (!item.deliveries.empty() || !item.timers.empty()) w.changes.work = true;
  // A later item of the batch with the same report is its duplicate.
  if (w.reports) {
    (*w.reports)[r.careline_report_id] = {r.content_sha256, receipt.SerializeAsString()};
  }
  CreateReferralResult result{CreateReferralResult::Outcome::kCreated, std::move(receipt)};
  pg::PgFeedEventRows feed_events;
  for (const IntakePlacement& p : placements) {
    HART_ASSIGN_OR_RETURN(appended,
                          p.sequence != 0 ? InsertFeedEvent(w, *p.append, static_cast<int64_t>(p.sequence),
                                                            r.accepted_at, &feed_events)
                                          : AppendFeedEvent(w, *p.append, r.accepted_at));
    result.feed_appends.push_back(std::move(appended));
  }
  HART_RETURN_IF_ERROR(feed_events.Defer(w.conn));
  return result;
}

absl::StatusOr<std::vector<CreateReferralResult>> PostgresBackend::CreateReferrals(
    std::span<const NewReferral> batch) {
  std::vector<CreateReferralResult> results;
  const pg::WriteReads reads = pg::WriteReadsFor(batch);
  absl::Status status = InWriteTransaction(reads, [&](pg::PgWrite& w) -> absl::Status {
    results.clear();
    for (const NewReferral& item : batch) {
      HART_ASSIGN_OR_RETURN(result, WriteReferral(w, item));
      results.push_back(std::move(result));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return results;
}

absl::Status PostgresBackend::WriteChange(pg::PgWrite& w, const ReferralChange& c) {
  HART_ASSIGN_OR_RETURN(update, w.conn.Query(
      "UPDATE referrals SET intake = $1, receipt = $2, priority = $3, resolved_town = $4, "
      "version = version + 1 WHERE referral_id = $5 AND version = $6 AND sealed_at IS NULL",
      PgParams().Bytes(c.sealed_intake).Bytes(c.receipt.SerializeAsString()).Int(c.priority)
          .Text(c.resolved_town).Text(c.referral_id).Int(c.expected_version)));
  if (update.affected() != 1) {
    return absl::AbortedError("the referral changed concurrently; retry");
  }
  // A delivery's priority is its referral's: what still waits for this one
  // is claimed by the new one (a supplement saying the child is in danger).
  HART_RETURN_IF_ERROR(w.conn.Defer(
      "UPDATE deliveries SET priority = $1 WHERE referral_id = $2 AND priority <> $1",
      PgParams().Int(c.priority).Text(c.referral_id)));
  const SplitLadderStarts split = SplitTimersForDeliveries(c.new_deliveries, c.new_timers);
  pg::PgDeliveryRows deliveries;
  for (const DeliveryRecord& d : c.new_deliveries) deliveries.Add(d, split.For(d.delivery_id));
  HART_RETURN_IF_ERROR(deliveries.Defer(w.conn));
  if (!c.fired_timer_id.empty()) {
    HART_RETURN_IF_ERROR(pg::MarkTimerFired(w.conn, c.fired_timer_id, c.fired_timer_lease, c.at));
  }
  HART_RETURN_IF_ERROR(w.conn.Defer(
      "UPDATE timers SET state = $1, finished_at = $2, lease_until = NULL "
      "WHERE referral_id = $3 AND state = $4 AND kind = $5",
      PgParams().Int(pg::kTimerReplaced).Micros(c.at).Text(c.referral_id)
          .Int(pg::kTimerPending).Int(pg::kTimerReroute)));
  for (const TimerRecord* t : split.in_table) {
    HART_RETURN_IF_ERROR(pg::InsertTimer(w.conn, *t, c.at));
  }
  if (!c.new_deliveries.empty() || !c.new_timers.empty()) w.changes.work = true;
  if (!c.supplement_id.empty()) {
    HART_RETURN_IF_ERROR(w.conn.Defer(
        "INSERT INTO supplements (supplement_id, referral_id, supplement_sha256, response, "
        "applied_at) VALUES ($1, $2, $3, $4, $5)",
        PgParams().Text(c.supplement_id).Text(c.referral_id).Bytes(c.supplement_sha256)
            .Bytes(c.supplement_response).Micros(c.at)));
  }
  for (const AuditEvent& e : c.audit) HART_RETURN_IF_ERROR(AppendLeaf(w, e).status());
  return absl::OkStatus();
}

absl::Status PostgresBackend::ApplyReferralChange(const ReferralChange& c) {
  return InWriteTransaction([&](pg::PgWrite& w) { return WriteChange(w, c); });
}

absl::StatusOr<std::optional<StoredSupplement>> PostgresBackend::FindSupplement(
    const std::string& supplement_id) {
  HART_ASSIGN_OR_RETURN(lease, pool_->Acquire());
  HART_ASSIGN_OR_RETURN(row, lease.conn().Query(
      "SELECT referral_id, supplement_sha256, response FROM supplements "
      "WHERE supplement_id = $1",
      PgParams().Text(supplement_id)));
  if (row.rows() == 0) return std::optional<StoredSupplement>();
  return std::optional<StoredSupplement>(
      StoredSupplement{row.Text(0, 0), row.Bytes(0, 1), row.Bytes(0, 2)});
}

absl::StatusOr<std::vector<std::string>> PostgresBackend::ListSupplements(
    const std::string& referral_id) {
  HART_ASSIGN_OR_RETURN(lease, pool_->Acquire());
  // Ties of applied_at in insertion order, as SQLite's rowid gives them.
  HART_ASSIGN_OR_RETURN(rows, lease.conn().Query(
      "SELECT supplement_id FROM supplements WHERE referral_id = $1 "
      "ORDER BY applied_at, applied_seq",
      PgParams().Text(referral_id)));
  std::vector<std::string> ids;
  ids.reserve(rows.rows());
  for (int i = 0; i < rows.rows(); ++i) ids.push_back(rows.Text(i, 0));
  return ids;
}

absl::StatusOr<std::string> PostgresBackend::FindReferralId(
    const std::string& careline_report_id) {
  HART_ASSIGN_OR_RETURN(lease, pool_->Acquire());
  HART_ASSIGN_OR_RETURN(row, lease.conn().Query(
      "SELECT referral_id FROM referrals WHERE careline_report_id = $1",
      PgParams().Text(careline_report_id)));
  if (row.rows() == 0) {
    return absl::NotFoundError("no referral has this carelineReportId");
  }
  return row.Text(0, 0);
}

absl::StatusOr<ReferralRecord> PostgresBackend::GetReferral(const std::string& referral_id) {
  HART_ASSIGN_OR_RETURN(lease, pool_->Acquire());
  HART_ASSIGN_OR_RETURN(row, lease.conn().Query(
      "SELECT referral_id, careline_report_id, content_sha256, intake, receipt, "
      "priority, resolved_town, received_at, accepted_at, version, sealed_at FROM referrals "
      "WHERE referral_id = $1",
      PgParams().Text(referral_id)));
  if (row.rows() == 0) return absl::NotFoundError(absl::StrCat("no referral ", referral_id));
  ReferralRecord r;
  r.referral_id = row.Text(0, 0);
  r.careline_report_id = row.Text(0, 1);
  r.content_sha256 = row.Bytes(0, 2);
  r.sealed_intake = row.Bytes(0, 3);
  if (!r.receipt.ParseFromString(row.Bytes(0, 4))) {
    return absl::DataLossError(absl::StrCat("referral ", referral_id, ": receipt does not parse"));
  }
  r.priority = static_cast<v1::Priority>(row.Int(0, 5));
  r.resolved_town = row.Text(0, 6);
  r.received_at = row.Time(0, 7);
  r.accepted_at = row.Time(0, 8);
  r.version = row.Int(0, 9);
  r.sealed_at = row.OptTime(0, 10);
  return r;
}

absl::StatusOr<SealResult> PostgresBackend::SealReferral(const SealWrite& s) {
  SealResult result;
  absl::Status status = InWriteTransaction([&](pg::PgWrite& w) -> absl::Status {
    result = {};
    HART_ASSIGN_OR_RETURN(mark, w.conn.Query(
        "UPDATE referrals SET sealed_at = $1, intake = ''::bytea, version = version + 1 "
        "WHERE referral_id = $2 "
        "AND sealed_at IS NULL",
        PgParams().Micros(s.at).Text(s.referral_id)));
    if (mark.affected() != 1) {
      HART_ASSIGN_OR_RETURN(known, w.conn.Query(
          "SELECT 1 FROM referrals WHERE referral_id = $1", PgParams().Text(s.referral_id)));
      if (known.rows() == 0) return absl::NotFoundError(absl::StrCat("no referral ", s.referral_id));
      return absl::FailedPreconditionError(
          absl::StrCat("referral ", s.referral_id, " is already sealed"));
    }
    // Destroying the wrapped data key is what makes the PII unrecoverable,
    // including any copy of the ciphertext in backups or the WAL.
    HART_RETURN_IF_ERROR(w.conn.Defer(
        "UPDATE referral_keys SET wrapped = NULL, destroyed_at = $1 WHERE referral_id = $2",
        PgParams().Micros(s.at).Text(s.referral_id)));
    HART_RETURN_IF_ERROR(w.conn.Defer(
        "UPDATE acks SET note = ''::bytea WHERE delivery_id IN "
        "(SELECT delivery_id FROM deliveries WHERE referral_id = $1)",
        PgParams().Text(s.referral_id)));
    // Deliveries that never left stop here. A delivery another replica has
    // claimed but not handed off is stopped too (the UPDATE waits for that
    // claim's row lock and re-checks); its outcome is then skipped, as on
    // SQLite, because the delivery is no longer IN_FLIGHT.
    HART_ASSIGN_OR_RETURN(stop, w.conn.Query(
        "UPDATE deliveries SET state = $1, lease_until = NULL WHERE referral_id = $2 "
        "AND (state = $3 OR (state = $4 AND transport_ref = ''))",
        PgParams().Int(v1::SEALED).Text(s.referral_id).Int(v1::PENDING).Int(v1::IN_FLIGHT)));
    result.stopped_deliveries = static_cast<uint32_t>(stop.affected());
    // Ladder starts still held in delivery rows end with the referral's
    // pending timers (before them: a claim moving one into timers right now
    // is waited for, and the timers update then sees the moved timer).
    HART_RETURN_IF_ERROR(w.conn.Defer(
        "UPDATE deliveries SET ladder_due_at = NULL "
        "WHERE referral_id = $1 AND ladder_due_at IS NOT NULL",
        PgParams().Text(s.referral_id)));
    HART_RETURN_IF_ERROR(w.conn.Defer(
        "UPDATE timers SET state = $1, finished_at = $2, lease_until = NULL "
        "WHERE referral_id = $3 AND state = $4",
        PgParams().Int(pg::kTimerReplaced).Micros(s.at).Text(s.referral_id)
            .Int(pg::kTimerPending)));
    for (const DeliveryRecord& d : s.notices) HART_RETURN_IF_ERROR(pg::InsertDelivery(w.conn, d));
    for (const AuditEvent& e : s.audit) HART_RETURN_IF_ERROR(AppendLeaf(w, e).status());
    // Other replicas drop what they hold of its facts in memory.
    w.changes.sealed.push_back(s.referral_id);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

}  // namespace hart
