// PostgresBackend: the outbox — claims with owner and fencing value, outcomes,
// redelivery and the next due time.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/common/logging.h"
#include "broker/common/status_macros.h"
#include "broker/store/agency_holds.h"
#include "broker/store/ladder_starts.h"
#include "broker/store/postgres/pg_rows.h"
#include "broker/store/postgres/pg_transaction.h"

namespace hart {
namespace {

const std::shared_ptr<spdlog::logger>& Log() {
  static const auto log = Logger("store");
  return log;
}

// The deliveries a claim statement returned, each with the key its claim
// query ordered by. RETURNING has no order, so the query's is restored here
// (delivery_id breaks ties, which SQLite left to rowid order).
std::vector<DeliveryRecord> InClaimOrder(const pg::PgResult& rows, int key_col) {
  std::vector<std::pair<int64_t, DeliveryRecord>> keyed;
  keyed.reserve(rows.rows());
  for (int r = 0; r < rows.rows(); ++r) {
    keyed.emplace_back(rows.Int(r, key_col), pg::ReadDelivery(rows, r));
  }
  std::sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    return a.second.delivery_id < b.second.delivery_id;
  });
  std::vector<DeliveryRecord> out;
  out.reserve(keyed.size());
  for (auto& [key, d] : keyed) out.push_back(std::move(d));
  return out;
}

// The agencies with PENDING deliveries as the CTE `a (id)`, by a loose
// index scan: one probe of deliveries_pending_by_agency per agency (a NULL
// row ends it). Used while an agency is held (AgencyHold).
#define HART_PENDING_AGENCIES                                                               \
  "WITH RECURSIVE a (id) AS ("                                                              \
  " SELECT MIN(agency_id) FROM deliveries WHERE state = 1"                                  \
  " UNION ALL"                                                                              \
  " SELECT (SELECT MIN(agency_id) FROM deliveries WHERE state = 1 AND agency_id > a.id)"    \
  " FROM a WHERE a.id IS NOT NULL)"

// The claim of the rows the CTE `c (id)` locked ($1 now, $3 lease end, $4
// owner), followed by the columns to return.
#define HART_CLAIM_ROWS_OF_C                                                                \
  "UPDATE deliveries d SET state = 2, attempts = d.attempts + 1, last_attempt_at = $1, "    \
  "lease_until = $3, claim_owner = $4 FROM c WHERE d.delivery_id = c.id RETURNING "
// Claims of up to $2 due PENDING deliveries matching `filter`, earliest
// first. SKIP LOCKED: rows another replica is claiming right now are
// theirs; the row lock re-checks the due condition on the newest committed
// version.
#define HART_CLAIM_DUE(filter)                                                              \
  "WITH c (id) AS (SELECT delivery_id FROM deliveries WHERE state = 1" filter               \
  " AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED) "   \
  HART_CLAIM_ROWS_OF_C

constexpr char kClaimDue[] = HART_CLAIM_DUE("");
// The URGENT ones alone (priority 2), whatever their agency, on their own
// partial index: claimed first, held agency or not.
constexpr char kClaimUrgentDue[] = HART_CLAIM_DUE(" AND priority = 2");
// Due deliveries of any priority, skipping the agencies in $5 (held:
// AgencyHold) without reading their backlog: a loose index scan lists the
// agencies with PENDING deliveries (one probe of
// deliveries_pending_by_agency each), each unheld one gives its earliest
// due ones, and the earliest $2 of those are locked and claimed (picked is
// materialized, so at most $2).
constexpr char kClaimDueUnheld[] =
    HART_PENDING_AGENCIES ", "
    "picked (id) AS MATERIALIZED ("
    " SELECT x.delivery_id FROM a CROSS JOIN LATERAL ("
    "  SELECT delivery_id, next_attempt_at FROM deliveries WHERE state = 1"
    "  AND agency_id = a.id AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2) x"
    " WHERE a.id IS NOT NULL AND a.id <> ALL ($5::text[])"
    " ORDER BY x.next_attempt_at LIMIT $2), "
    "c (id) AS (SELECT delivery_id FROM deliveries WHERE delivery_id IN (SELECT id FROM picked)"
    " AND state = 1 AND next_attempt_at <= $1 FOR UPDATE SKIP LOCKED) "
    HART_CLAIM_ROWS_OF_C;
#undef HART_CLAIM_DUE
#undef HART_CLAIM_ROWS_OF_C

}  // namespace

absl::StatusOr<std::vector<DeliveryRecord>> PostgresBackend::ClaimDueDeliveries(
    absl::Time now, absl::Time lease_until, size_t limit, std::span<const AgencyHold> holds) {
  const std::vector<AgencyHold> held = ActiveHolds(holds, now);
  pg::ArrayParam held_ids;
  for (const AgencyHold& h : held) held_ids.Add(h.agency_id);
  std::vector<DeliveryRecord> claimed;
  absl::Status status = InClaimTransaction([&](pg::PgConn& conn) -> absl::Status {
    claimed.clear();
    // Literals, not parameters, so the partial indexes deliveries_due,
    // deliveries_urgent_due and deliveries_unsent_claims match under a
    // generic plan too.
    static_assert(v1::PENDING == 1 && v1::IN_FLIGHT == 2 && v1::URGENT == 2,
                  "literals in the queries below");
    // Three statements, each on its own index: due URGENT deliveries (held
    // agency or not), due retries and first attempts (the URGENT ones among
    // them are claimed already, or locked by another replica's claim), then
    // claims (anyone's) whose lease expired before they were handed off.
    HART_ASSIGN_OR_RETURN(urgent, conn.Query(
        absl::StrCat(kClaimUrgentDue, pg::kDeliveryColumns, ", d.next_attempt_at"),
        pg::PgParams().Micros(now).Limit(limit).Micros(lease_until).Text(options_.broker_id)));
    claimed = InClaimOrder(urgent, pg::kDeliveryColumnCount);
    if (claimed.size() < limit) {
      const size_t left = limit - claimed.size();
      HART_ASSIGN_OR_RETURN(due, conn.Query(
          absl::StrCat(held.empty() ? kClaimDue : kClaimDueUnheld, pg::kDeliveryColumns,
                       ", d.next_attempt_at"),
          held.empty() ? pg::PgParams().Micros(now).Limit(left).Micros(lease_until)
                             .Text(options_.broker_id)
                       : pg::PgParams().Micros(now).Limit(left).Micros(lease_until)
                             .Text(options_.broker_id).Array(held_ids.Literal())));
      for (auto& d : InClaimOrder(due, pg::kDeliveryColumnCount)) claimed.push_back(std::move(d));
    }
    if (claimed.size() < limit) {
      // SQLite selected both sets before updating either; here the first
      // statement's claims are already visible, and with a lease that ends
      // by `now` they would match again. `last_attempt_at = now` marks them.
      HART_ASSIGN_OR_RETURN(expired, conn.Query(absl::StrCat(
          "WITH c (id, expired_at) AS (SELECT delivery_id, lease_until FROM deliveries "
          "WHERE state = 2 AND transport_ref = '' AND lease_until <= $1 "
          "AND last_attempt_at IS DISTINCT FROM $1 "
          "ORDER BY lease_until LIMIT $2 FOR UPDATE SKIP LOCKED) "
          "UPDATE deliveries d SET state = 2, attempts = d.attempts + 1, last_attempt_at = $1, "
          "lease_until = $3, claim_owner = $4 FROM c WHERE d.delivery_id = c.id "
          "RETURNING ", pg::kDeliveryColumns, ", c.expired_at"),
          pg::PgParams().Micros(now).Limit(limit - claimed.size())
              .Micros(lease_until).Text(options_.broker_id)));
      for (auto& d : InClaimOrder(expired, pg::kDeliveryColumnCount)) {
        claimed.push_back(std::move(d));
      }
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return claimed;
}

absl::Status PostgresBackend::ReleaseClaims(absl::Time now) {
  // A write transaction although no audit event is written: it touches
  // deliveries and then timers, the order other writers need not follow, so
  // it runs under the writers' lock rather than risk a deadlock with them.
  // Another replica's claim in progress on one of these rows makes it wait,
  // then skip the row (claim_owner is no longer ours).
  return InWriteTransaction([&](pg::PgWrite& w) -> absl::Status {
    HART_RETURN_IF_ERROR(w.conn.Defer(
        "UPDATE deliveries SET state = $1, lease_until = NULL, next_attempt_at = $2 "
        "WHERE state = $3 AND transport_ref = '' AND claim_owner = $4",
        pg::PgParams().Int(v1::PENDING).Micros(now).Int(v1::IN_FLIGHT)
            .Text(options_.broker_id)));
    return w.conn.Defer(
        "UPDATE timers SET lease_until = NULL WHERE state = $1 AND lease_until IS NOT NULL "
        "AND claim_owner = $2",
        pg::PgParams().Int(pg::kTimerPending).Text(options_.broker_id));
  });
}

absl::StatusOr<std::optional<absl::Time>> PostgresBackend::NextDueTime(
    std::span<const AgencyHold> holds) {
  static_assert(v1::PENDING == 1 && v1::IN_FLIGHT == 2 && pg::kTimerPending == 0 &&
                    v1::URGENT == 2,
                "literals in the query below (they let the partial indexes match)");
  HART_ASSIGN_OR_RETURN(lease, pool_->Acquire());
  // While an agency is held its PENDING NORMAL deliveries' term comes per
  // agency; URGENT ones are claimable held or not.
  HART_ASSIGN_OR_RETURN(row, lease.conn().Query(absl::StrCat(
      "SELECT MIN(t) FROM (",
      holds.empty() ? " SELECT MIN(next_attempt_at) AS t FROM deliveries WHERE state = 1"
                      " UNION ALL"
                    : " SELECT MIN(next_attempt_at) AS t FROM deliveries WHERE state = 1"
                      " AND priority = 2 UNION ALL",
      " SELECT MIN(lease_until) AS t FROM deliveries WHERE state = 2 AND transport_ref = ''"
      " UNION ALL"
      " SELECT MIN(due_at) AS t FROM timers WHERE state = 0 AND lease_until IS NULL"
      " UNION ALL"
      " SELECT MIN(lease_until) AS t FROM timers WHERE state = 0 AND lease_until IS NOT NULL"
      " UNION ALL"
      " SELECT MIN(ladder_due_at) AS t FROM deliveries WHERE ladder_due_at IS NOT NULL"
      ") AS due")));
  std::optional<absl::Time> next;
  if (row.rows() > 0 && !row.IsNull(0, 0)) next = row.Time(0, 0);
  if (holds.empty()) return next;
  // A loose index scan: one probe of deliveries_pending_by_agency per agency.
  HART_ASSIGN_OR_RETURN(agencies, lease.conn().Query(
      HART_PENDING_AGENCIES
      " SELECT a.id, (SELECT MIN(next_attempt_at) FROM deliveries WHERE state = 1"
      " AND agency_id = a.id) FROM a WHERE a.id IS NOT NULL"));
  PendingByAgency pending;
  for (int r = 0; r < agencies.rows(); ++r) {
    pending.emplace_back(agencies.Text(r, 0), agencies.Time(r, 1));
  }
  return Earlier(next, EarliestClaimable(pending, holds));
}

absl::Status PostgresBackend::RecordOutcomes(std::span<const DeliveryOutcome> outcomes) {
  // One outcome per delivery: a second for the same claim would not match
  // (the first moved the row out of IN_FLIGHT), as if applied in turn.
  std::vector<const DeliveryOutcome*> unique;
  std::set<std::string_view> seen;
  for (const DeliveryOutcome& o : outcomes) {
    if (seen.insert(o.delivery_id).second) unique.push_back(&o);
  }
  if (unique.empty()) return absl::OkStatus();
  pg::ArrayParam ids, states, next_attempts, errors, refs, delivered, ats, given_back, attempts;
  for (const DeliveryOutcome* o : unique) {
    ids.Add(o->delivery_id);
    states.Add(static_cast<int64_t>(o->new_state));
    next_attempts.Add(absl::ToUnixMicros(o->next_attempt_at));
    errors.Add(o->error);
    refs.Add(o->transport_ref);
    delivered.Add(int64_t{o->new_state == v1::DELIVERED ? 1 : 0});
    ats.Add(absl::ToUnixMicros(o->at));
    given_back.Add(int64_t{o->attempted ? 0 : 1});
    attempts.Add(static_cast<int64_t>(o->attempt));
  }
  size_t fenced = 0;
  absl::Status written = InWriteTransaction([&](pg::PgWrite& w) -> absl::Status {
    // Applied only to the claims they answer: same state and fencing value.
    // If another replica is claiming a row right now, this waits for its
    // commit and re-checks against the new attempts (then skips the row).
    // One statement for the whole batch: the audit_tree lock this
    // transaction holds is held for three round trips, not one per outcome.
    HART_ASSIGN_OR_RETURN(applied, w.conn.Query(
        "UPDATE deliveries d SET state = o.state, next_attempt_at = o.next_attempt_at, "
        "last_error = o.error, lease_until = NULL, "
        "transport_ref = COALESCE(NULLIF(o.ref, ''), d.transport_ref), "
        "delivered_at = CASE WHEN o.delivered <> 0 THEN o.at ELSE d.delivered_at END, "
        "attempts = d.attempts - o.given_back "
        "FROM unnest($1::text[], $2::int8[], $3::int8[], $4::text[], $5::text[], $6::int8[], "
        "$7::int8[], $8::int8[], $9::int8[]) "
        "AS o(delivery_id, state, next_attempt_at, error, ref, delivered, at, given_back, attempt) "
        "WHERE d.delivery_id = o.delivery_id AND d.state = $10 AND d.attempts = o.attempt "
        "RETURNING d.delivery_id",
        pg::PgParams().Array(ids.Literal()).Array(states.Literal()).Array(next_attempts.Literal())
            .Array(errors.Literal()).Array(refs.Literal()).Array(delivered.Literal())
            .Array(ats.Literal()).Array(given_back.Literal()).Array(attempts.Literal())
            .Int(v1::IN_FLIGHT),
        pg::kPlanEachRun));
    std::set<std::string> matched;
    for (int row = 0; row < applied.rows(); ++row) matched.insert(applied.Text(row, 0));
    fenced = unique.size() - matched.size();
    // Acknowledged while the attempt ran, or claimed again since: the
    // newer state stands and the outcome is history only.
    for (const DeliveryOutcome* o : unique) {
      if (!matched.contains(o->delivery_id)) continue;
      HART_RETURN_IF_ERROR(AppendLeaf(w, o->audit).status());
      if (o->ladder) {
        HART_RETURN_IF_ERROR(pg::TriggerLadder(w.conn, o->delivery_id, *o->ladder));
        w.changes.work = true;
      }
    }
    return absl::OkStatus();
  });
  // Visible, so a paused replica's late outcomes can be seen refused.
  if (written.ok() && fenced > 0) {
    Log()->info("event=outcomes_fenced count={} (claimed again or acknowledged meanwhile)",
                fenced);
  }
  return written;
}

absl::Status PostgresBackend::ApplyRedelivery(const RedeliveryWrite& r) {
  return InWriteTransaction([&](pg::PgWrite& w) -> absl::Status {
    // Its ladder ends: a start still held in the row is cleared here,
    // StopLadder ends one already in timers.
    HART_ASSIGN_OR_RETURN(mark, w.conn.Query(
        "UPDATE deliveries SET redelivered_as = $1, ladder_due_at = NULL "
        "WHERE delivery_id = $2 AND state = $3 AND redelivered_as = ''",
        pg::PgParams().Text(r.new_delivery.delivery_id).Text(r.old_delivery_id)
            .Int(r.expected_state)));
    if (mark.affected() != 1) {
      return absl::AbortedError("the delivery changed or was already redelivered");
    }
    HART_RETURN_IF_ERROR(pg::StopLadder(w.conn, r.old_delivery_id, r.new_delivery.created_at));
    // The new delivery's step-1 ladder is held in its row (ladder_starts.h).
    std::span<const TimerRecord> ladder;
    if (r.ladder) ladder = {&*r.ladder, 1};
    const SplitLadderStarts split = SplitTimersForDeliveries({&r.new_delivery, 1}, ladder);
    HART_RETURN_IF_ERROR(
        pg::InsertDelivery(w.conn, r.new_delivery, split.For(r.new_delivery.delivery_id)));
    w.changes.work = true;
    for (const TimerRecord* t : split.in_table) {
      HART_RETURN_IF_ERROR(pg::InsertTimer(w.conn, *t, r.new_delivery.created_at));
    }
    for (const AuditEvent& e : r.audit) HART_RETURN_IF_ERROR(AppendLeaf(w, e).status());
    return absl::OkStatus();
  });
}

absl::StatusOr<DeliveryRecord> PostgresBackend::GetDelivery(const std::string& delivery_id) {
  HART_ASSIGN_OR_RETURN(lease, pool_->Acquire());
  HART_ASSIGN_OR_RETURN(row, lease.conn().Query(
      absl::StrCat("SELECT ", pg::kDeliveryColumns,
                   " FROM deliveries d WHERE d.delivery_id = $1"),
      pg::PgParams().Text(delivery_id)));
  if (row.rows() == 0) return absl::NotFoundError(absl::StrCat("no delivery ", delivery_id));
  return pg::ReadDelivery(row, 0);
}

std::vector<absl::StatusOr<DeliveryRecord>> PostgresBackend::GetDeliveriesByIds(
    std::span<const std::string> delivery_ids) {
  std::vector<absl::StatusOr<DeliveryRecord>> deliveries;
  if (delivery_ids.empty()) return deliveries;
  // One query, one round trip: a batch of acks over the network would
  // otherwise wait for one per ack.
  auto read = [&]() -> absl::StatusOr<std::map<std::string, DeliveryRecord>> {
    HART_ASSIGN_OR_RETURN(lease, pool_->Acquire());
    HART_ASSIGN_OR_RETURN(rows, lease.conn().Query(
        absl::StrCat("SELECT ", pg::kDeliveryColumns,
                     " FROM deliveries d WHERE d.delivery_id = ANY ($1::text[])"),
        pg::PgParams().Array(
            pg::TextArray(std::vector<std::string>(delivery_ids.begin(), delivery_ids.end()))),
        pg::kPlanEachRun));
    std::map<std::string, DeliveryRecord> by_id;
    for (int row = 0; row < rows.rows(); ++row) {
      DeliveryRecord d = pg::ReadDelivery(rows, row);
      by_id.emplace(d.delivery_id, std::move(d));
    }
    return by_id;
  };
  const absl::StatusOr<std::map<std::string, DeliveryRecord>> found = read();
  deliveries.reserve(delivery_ids.size());
  for (const std::string& id : delivery_ids) {
    if (!found.ok()) {
      deliveries.push_back(found.status());
      continue;
    }
    auto it = found->find(id);
    if (it == found->end()) {
      deliveries.push_back(absl::NotFoundError(absl::StrCat("no delivery ", id)));
    } else {
      deliveries.push_back(it->second);
    }
  }
  return deliveries;
}

}  // namespace hart
