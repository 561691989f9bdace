// The SQL text of every read the SQLite backend makes (reader connections,
// the writer's claims of due work and its lookups inside a transaction), in
// one place so that tests/unit/sqlite_query_plan_test.cc checks the plan of
// exactly the statement the store prepares (EXPLAIN QUERY PLAN on a
// migrated database). SQLite runs without statistics (no ANALYZE), so where
// two indexes could serve a query, INDEXED BY pins the one that reads only
// the rows asked for.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/records.h"
#include "broker/store/sqlite/sqlite_rows.h"

namespace hart::sqlite::read_sql {

// A statement built from a query's filters: the text and its parameter
// values in order (every value is bound, none is spliced into the text).
struct BuiltQuery {
  struct Param {
    Param(int64_t v) : number(v) {}  // NOLINT(google-explicit-constructor): a list of values
    Param(std::string v) : text(std::move(v)), is_text(true) {}  // NOLINT(google-explicit-constructor)
    int64_t number = 0;
    std::string text;
    bool is_text = false;
  };
  std::string sql;
  std::vector<Param> params;
};
// Binds `query.params` to `stmt` from parameter 1 on.
inline void BindAll(Statement& stmt, const BuiltQuery& query) {
  int i = 1;
  for (const auto& p : query.params) {
    if (p.is_text) {
      stmt.Bind(i++, p.text);
    } else {
      stmt.Bind(i++, p.number);
    }
  }
}

// --- referrals and supplements (sqlite_referrals.cc) ---
inline const std::string& GetReferral() {
  static const std::string sql =
      "SELECT referral_id, careline_report_id, content_sha256, intake, receipt, "
      "priority, resolved_town, received_at, accepted_at, version, sealed_at FROM referrals "
      "WHERE referral_id = ?";
  return sql;
}
inline const std::string& FindReferralId() {
  static const std::string sql = "SELECT referral_id FROM referrals WHERE careline_report_id = ?";
  return sql;
}
// The writer's idempotency check before inserting a referral.
inline const std::string& ReferralByCarelineId() {
  static const std::string sql =
      "SELECT content_sha256, receipt, sealed_at IS NOT NULL FROM referrals "
      "WHERE careline_report_id = ?";
  return sql;
}
inline const std::string& ReferralExists() {
  static const std::string sql = "SELECT 1 FROM referrals WHERE referral_id = ?";
  return sql;
}
inline const std::string& FindSupplement() {
  static const std::string sql =
      "SELECT referral_id, supplement_sha256, response FROM supplements WHERE supplement_id = ?";
  return sql;
}
inline const std::string& ListSupplements() {
  static const std::string sql =
      "SELECT supplement_id FROM supplements WHERE referral_id = ? ORDER BY applied_at, rowid";
  return sql;
}
// Referrals stored before schema 7 whose intake is still plaintext: only
// the ids schema 11 listed in legacy_intakes (sqlite_migrations.cc).
inline const std::string& LegacyIntakes() {
  static const std::string sql =
      "SELECT r.referral_id, r.intake FROM legacy_intakes l "
      "JOIN referrals r ON r.referral_id = l.referral_id";
  return sql;
}

// --- supervisor queries (sqlite_queries.cc) ---
// A referral's deliveries in insertion order (report pages).
inline constexpr char kOfReferralInOrder[] =
    " FROM deliveries d INDEXED BY deliveries_by_referral "
    "WHERE d.referral_id = ? ORDER BY d.rowid";
inline const std::string& DeliveriesOfReferral() {
  static const std::string sql = absl::StrCat("SELECT ", kDeliveryColumns, kOfReferralInOrder);
  return sql;
}
// The same with each one's acknowledgements (sqlite_stored_acks.h) last
// (GetDeliveries).
inline const std::string& DeliveriesWithAcksOfReferral() {
  static const std::string sql =
      absl::StrCat("SELECT ", kDeliveryColumns, ", d.stored_acks", kOfReferralInOrder);
  return sql;
}
// The acknowledgements stored in a referral's deliveries (sealing it).
inline const std::string& StoredAcksOfReferral() {
  static const std::string sql =
      "SELECT rowid, delivery_id, stored_acks FROM deliveries "
      "WHERE referral_id = ? AND stored_acks != x''";
  return sql;
}
// Acknowledgements recorded before schema 18; since then they are in
// deliveries.stored_acks.
inline const std::string& AcksOfDelivery() {
  static const std::string sql =
      "SELECT kind, note, actor, recorded_at FROM acks WHERE delivery_id = ? ORDER BY ack_id";
  return sql;
}
// ListReferrals: newest first through referrals_by_accepted, each count
// over the referral's own deliveries (deliveries_by_referral).
BuiltQuery ListReferrals(const ReferralQuery& query, int64_t now_micros);

// --- timers and escalations (sqlite_timers.cc) ---
inline const std::string& PendingTimers() {
  static const std::string sql = absl::StrCat(
      "SELECT ", kTimerColumns, " FROM timers INDEXED BY timers_by_referral_state "
      "WHERE referral_id = ? AND state = ? ORDER BY due_at");
  return sql;
}
// The ladder starts still held in a referral's delivery rows.
inline const std::string& PendingLadderStarts() {
  static const std::string sql = absl::StrCat(
      "SELECT ", kLadderStartColumns, " FROM deliveries INDEXED BY deliveries_by_referral "
      "WHERE referral_id = ? AND ladder_due_at IS NOT NULL");
  return sql;
}
// Pending (literal 0, the partial index's WHERE) and due.
inline const std::string& DueTimers() {
  static const std::string sql = absl::StrCat(
      "SELECT ", kTimerColumns, " FROM timers INDEXED BY timers_pending_due WHERE state = 0 "
      "AND due_at <= ?1 AND (lease_until IS NULL OR lease_until <= ?1) "
      "ORDER BY due_at LIMIT ?2");
  return sql;
}
inline const std::string& DueLadderStarts() {
  static const std::string sql = absl::StrCat(
      "SELECT ", kLadderStartColumns, " FROM deliveries INDEXED BY deliveries_ladder_due "
      "WHERE ladder_due_at IS NOT NULL AND ladder_due_at <= ?1 ORDER BY ladder_due_at LIMIT ?2");
  return sql;
}
inline const std::string& TimerState() {
  static const std::string sql = "SELECT state FROM timers WHERE timer_id = ?";
  return sql;
}
inline const std::string& ReadEscalations() {
  static const std::string sql = absl::StrCat(
      "SELECT ", kEscalationColumns, " FROM escalation_events WHERE sequence > ? "
      "ORDER BY sequence LIMIT ?");
  return sql;
}
inline const std::string& EscalationsOf() {
  static const std::string sql = absl::StrCat(
      "SELECT ", kEscalationColumns, " FROM escalation_events WHERE delivery_id = ? "
      "ORDER BY sequence");
  return sql;
}

// --- the writer's updates that find their rows by more than a key, here
// for the rows they read (sqlite_rows.cc, sqlite_outbox.cc) ---
// A ladder pulled forward: the delivery's own timers, not every pending
// timer due later (timers_due, which SQLite chose before version 12).
inline const std::string& TriggerLadder() {
  static const std::string sql =
      "UPDATE timers INDEXED BY timers_by_delivery SET due_at = ?, base_at = ?, reason = ?, "
      "lease_until = NULL WHERE kind = ? AND delivery_id = ? AND state = ? AND step = 1 "
      "AND due_at > ?";
  return sql;
}
// Start-up releases this broker's claims: the unsent claims' and the leased
// timers' partial indexes, not every IN_FLIGHT delivery (those waiting for
// a partner's RECEIVED) nor every pending timer. Literal states, as the
// partial indexes' WHERE.
inline const std::string& ReleaseDeliveryClaims() {
  static const std::string sql =
      "UPDATE deliveries INDEXED BY deliveries_unsent_claims SET state = ?1, "
      "lease_until = NULL, next_attempt_at = ?2 "
      "WHERE state = 2 AND transport_ref = '' AND claim_owner = ?3";
  return sql;
}
inline const std::string& ReleaseTimerClaims() {
  static const std::string sql =
      "UPDATE timers INDEXED BY timers_leased SET lease_until = NULL "
      "WHERE state = 0 AND lease_until IS NOT NULL AND claim_owner = ?1";
  return sql;
}

// --- the outbox (sqlite_outbox.cc). PENDING = 1, IN_FLIGHT = 2 as literals
// so that SQLite can use the partial indexes. ---
inline const std::string& DueDeliveries() {
  static const std::string sql = absl::StrCat(
      "SELECT ", kDeliveryColumns, " FROM deliveries d WHERE d.state = 1 "
      "AND d.next_attempt_at <= ?1 ORDER BY d.next_attempt_at LIMIT ?2");
  return sql;
}
// The same for the URGENT ones alone (priority 2, a literal for the partial
// index), whatever their agency: claimed first, held agency or not.
inline const std::string& UrgentDueDeliveries() {
  static const std::string sql = absl::StrCat(
      "SELECT ", kDeliveryColumns, " FROM deliveries d INDEXED BY deliveries_urgent_due "
      "WHERE d.state = 1 AND d.priority = 2 "
      "AND d.next_attempt_at <= ?1 ORDER BY d.next_attempt_at LIMIT ?2");
  return sql;
}
// Each agency with PENDING deliveries and its earliest next_attempt_at, by
// a loose index scan: one probe of deliveries_pending_by_agency per agency
// (tens of them) however many deliveries wait. Asked only while an agency
// is held (AgencyHold), whose due deliveries the claims must skip.
inline const std::string& PendingByAgency() {
  static const std::string sql =
      "WITH RECURSIVE a (id) AS ("
      " SELECT MIN(agency_id) FROM deliveries INDEXED BY deliveries_pending_by_agency"
      "   WHERE state = 1"
      " UNION ALL"
      " SELECT (SELECT MIN(agency_id) FROM deliveries INDEXED BY deliveries_pending_by_agency"
      "   WHERE state = 1 AND agency_id > a.id) FROM a WHERE a.id IS NOT NULL)"
      " SELECT a.id, (SELECT MIN(next_attempt_at) FROM deliveries"
      "   INDEXED BY deliveries_pending_by_agency WHERE state = 1 AND agency_id = a.id)"
      " FROM a WHERE a.id IS NOT NULL";
  return sql;
}
// Up to ?3 of agency ?1's PENDING deliveries due at ?2, earliest first: the
// rowids and due times, from the index alone.
inline const std::string& DueDeliveriesOfAgency() {
  static const std::string sql =
      "SELECT rowid, next_attempt_at FROM deliveries INDEXED BY deliveries_pending_by_agency "
      "WHERE state = 1 AND agency_id = ?1 AND next_attempt_at <= ?2 "
      "ORDER BY next_attempt_at LIMIT ?3";
  return sql;
}
inline const std::string& DeliveryByRowid() {
  static const std::string sql =
      absl::StrCat("SELECT ", kDeliveryColumns, " FROM deliveries d WHERE d.rowid = ?1");
  return sql;
}
inline const std::string& ExpiredUnsentClaims() {
  static const std::string sql = absl::StrCat(
      "SELECT ", kDeliveryColumns, " FROM deliveries d INDEXED BY deliveries_unsent_claims "
      "WHERE d.state = 2 AND d.transport_ref = '' AND d.lease_until <= ?1 "
      "ORDER BY d.lease_until LIMIT ?2");
  return sql;
}
// The earliest due time of everything but the PENDING deliveries: while an
// agency is held, their term comes from PendingByAgency instead.
#define HART_NEXT_DUE_CLAIMS_AND_TIMERS \
  " SELECT MIN(lease_until) AS t FROM deliveries INDEXED BY deliveries_unsent_claims" \
  "   WHERE state = 2 AND transport_ref = ''" \
  " UNION ALL" \
  " SELECT MIN(due_at) AS t FROM timers INDEXED BY timers_pending_due" \
  "   WHERE state = 0 AND lease_until IS NULL" \
  " UNION ALL" \
  " SELECT MIN(lease_until) AS t FROM timers INDEXED BY timers_leased" \
  "   WHERE state = 0 AND lease_until IS NOT NULL" \
  " UNION ALL" \
  " SELECT MIN(ladder_due_at) AS t FROM deliveries INDEXED BY deliveries_ladder_due" \
  "   WHERE ladder_due_at IS NOT NULL"
inline const std::string& NextDueTime() {
  static const std::string sql =
      "SELECT MIN(t) FROM ("
      " SELECT MIN(next_attempt_at) AS t FROM deliveries WHERE state = 1"
      " UNION ALL" HART_NEXT_DUE_CLAIMS_AND_TIMERS ")";
  return sql;
}
// With an agency held: its URGENT deliveries are claimable all the same,
// the others per agency (PendingByAgency).
inline const std::string& NextDueTimeOfUrgentClaimsAndTimers() {
  static const std::string sql =
      "SELECT MIN(t) FROM ("
      " SELECT MIN(next_attempt_at) AS t FROM deliveries INDEXED BY deliveries_urgent_due"
      "   WHERE state = 1 AND priority = 2"
      " UNION ALL" HART_NEXT_DUE_CLAIMS_AND_TIMERS ")";
  return sql;
}
#undef HART_NEXT_DUE_CLAIMS_AND_TIMERS
inline const std::string& GetDelivery() {
  static const std::string sql =
      absl::StrCat("SELECT ", kDeliveryColumns, " FROM deliveries d WHERE d.delivery_id = ?");
  return sql;
}
inline const std::string& DeliveryExists() {
  static const std::string sql = "SELECT 1 FROM deliveries WHERE delivery_id = ?";
  return sql;
}

// --- feeds (sqlite_feeds.cc): the event, the delivery, then the referral's
// columns ---
inline const std::string& FeedSelect() {
  static const std::string sql = absl::StrCat(
      "SELECT f.sequence, f.appended_at, ", kDeliveryColumns,
      ", r.intake, r.priority, f.audit_index, r.sealed_at "
      "FROM feed_events f JOIN deliveries d ON d.delivery_id = f.delivery_id "
      "JOIN referrals r ON r.referral_id = d.referral_id ");
  return sql;
}
inline const std::string& ReadFeed() {
  static const std::string sql = absl::StrCat(
      FeedSelect(), "WHERE f.agency_id = ? AND f.sequence > ? ORDER BY f.sequence LIMIT ?");
  return sql;
}
inline const std::string& ReadUnreceivedFeed() {
  static const std::string sql = absl::StrCat(
      FeedSelect(), "WHERE f.agency_id = ? AND f.sequence > ? AND f.sequence <= ? "
                    "AND d.state = ", int64_t{v1::IN_FLIGHT}, " ORDER BY f.sequence LIMIT ?");
  return sql;
}
inline const std::string& FeedHead() {
  static const std::string sql = "SELECT last_sequence FROM feed_heads WHERE agency_id = ?";
  return sql;
}
inline const std::string& FeedEventOfDelivery() {
  static const std::string sql =
      "SELECT agency_id, sequence FROM feed_events WHERE delivery_id = ?";
  return sql;
}

// --- the audit log (sqlite_audit.cc) ---
// ListAuditEvents with parameters ?1 start index (1-based idx), ?2 referral,
// ?3 delivery, ?4 actor, ?5 from, ?6 to (micros), ?7 limit: an id filter
// reads its own index, the most selective one set.
std::string ListAuditEvents(const AuditQuery& query);
inline const std::string& AuditLeafHash() {
  static const std::string sql = "SELECT leaf_hash FROM audit_events WHERE idx = ?";
  return sql;
}
inline const std::string& AuditSubtreeHash() {
  static const std::string sql =
      "SELECT hash FROM audit_subtrees WHERE leaf_end = ? AND height = ?";
  return sql;
}
inline const std::string& ListCheckpoints() {
  static const std::string sql =
      "SELECT tree_size, root_hash, at, key_id, signature, signed_note "
      "FROM audit_checkpoints ORDER BY tree_size";
  return sql;
}

// --- compliance report pages (sqlite_reports.cc). The cursor is a row
// value, so SQLite seeks the index to it; without one the page starts at
// (received_from, ''): no referral id is empty. ---
inline const std::string& ReportPage() {
  static const std::string sql =
      "SELECT r.referral_id, r.received_at, r.accepted_at, r.resolved_town, r.sealed_at, "
      "CASE WHEN ?1 THEN r.intake ELSE x'' END, k.key_id, k.wrapped "
      "FROM referrals r INDEXED BY referrals_by_received "
      "LEFT JOIN referral_keys k ON k.referral_id = r.referral_id "
      "WHERE (r.received_at, r.referral_id) > (?2, ?3) AND r.received_at >= ?4 "
      "AND r.received_at < ?5 ORDER BY r.received_at, r.referral_id LIMIT ?6";
  return sql;
}

// --- data keys (sqlite_keys.cc) ---
inline const std::string& ReadDataKey() {
  static const std::string sql =
      "SELECT referral_id, key_id, wrapped FROM referral_keys WHERE referral_id = ?";
  return sql;
}
// Two seeks either side of ?1 on the unsealed keys' index, so a rotation
// that has rewrapped most keys does not read them again per page.
inline const std::string& DataKeysNotWrappedBy() {
  static const std::string sql =
      "SELECT referral_id, key_id, wrapped FROM referral_keys "
      "INDEXED BY referral_keys_wrapped_by_key WHERE wrapped IS NOT NULL AND key_id < ?1 "
      "UNION ALL "
      "SELECT referral_id, key_id, wrapped FROM referral_keys "
      "INDEXED BY referral_keys_wrapped_by_key WHERE wrapped IS NOT NULL AND key_id > ?1 "
      "LIMIT ?2";
  return sql;
}

// --- the operators' snapshot (sqlite_ops_snapshot.cc) ---
inline const std::string& OpsDeliveryCounts() {
  static const std::string sql =
      "SELECT state, agency_kind, kind, n FROM delivery_counts WHERE n != 0";
  return sql;
}
// IsOverdue (broker/overdue.h) as SQL at ?1, over the partial index
// deliveries_open_referrals, whose WHERE it repeats word for word (SQLite
// uses a partial index only then). tests/store holds it to IsOverdue.
inline const std::string& OpsOverdueByKind() {
  static const std::string sql = absl::StrCat(
      "SELECT agency_kind, COUNT(*) FROM deliveries INDEXED BY deliveries_open_referrals "
      "WHERE kind = 1 AND state != 4 AND redelivered_as = '' AND (ack_deadline <= ?1 OR "
      "(delivery_deadline <= ?1 AND state NOT IN (", int64_t{v1::DELIVERED}, ", ",
      int64_t{v1::DECLINED}, "))) GROUP BY agency_kind");
  return sql;
}
inline const std::string& OpsDeadLettersByKind() {
  static const std::string sql = absl::StrCat(
      "SELECT agency_kind, COUNT(*) FROM deliveries INDEXED BY deliveries_dead_letters "
      "WHERE state = ",
      int64_t{v1::DEAD}, " AND redelivered_as = '' GROUP BY agency_kind");
  return sql;
}
inline const std::string& OpsSummary() {
  static const std::string sql = absl::StrCat(
      "SELECT (SELECT MIN(created_at) FROM deliveries INDEXED BY deliveries_undelivered "
      "WHERE state IN (", int64_t{v1::PENDING}, ", ", int64_t{v1::IN_FLIGHT}, ")), "
      "(SELECT MAX(idx) FROM audit_events), "
      "(SELECT at FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1)");
  return sql;
}

}  // namespace hart::sqlite::read_sql
