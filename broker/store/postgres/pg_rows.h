// Row codecs of the PostgreSQL backend: how deliveries, timers and escalation
// events map to columns, and the small writes several concerns share.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "broker/records.h"
#include "broker/store/postgres/pg_conn.h"

namespace hart::pg {

// Column list shared by every query that reads a delivery, so ReadDelivery
// can decode it by position.
inline constexpr char kDeliveryColumns[] =
    "d.delivery_id, d.referral_id, d.agency_id, d.agency_kind, d.rule_ids, "
    "d.adapter_type, d.state, d.attempts, d.created_at, d.next_attempt_at, "
    "d.ack_deadline, d.delivery_deadline, d.last_attempt_at, d.lease_until, "
    "d.delivered_at, d.acknowledged_at, d.last_error, d.transport_ref, d.kind, d.changes, "
    "d.escalation, d.redelivered_as, d.erasure, d.claim_owner, d.priority";
inline constexpr int kDeliveryColumnCount = 25;

// timers.state
inline constexpr int64_t kTimerPending = 0;
inline constexpr int64_t kTimerFired = 1;
inline constexpr int64_t kTimerReplaced = 2;
// timers.kind
inline constexpr int64_t kTimerReroute = 0;
inline constexpr int64_t kTimerLadder = 1;

inline constexpr char kTimerColumns[] =
    "timer_id, referral_id, due_at, rule_ids, kind, delivery_id, step, base_at, reason, lease, "
    "claim_owner";

inline constexpr char kEscalationColumns[] =
    "sequence, at, referral_id, delivery_id, agency_id, reason, step, targets, "
    "notice_delivery_ids, notified_agency_ids";

DeliveryRecord ReadDelivery(const PgResult& r, int row, int first = 0);
// `ladder_start`: the delivery's step-1 ladder timer, kept in its row until
// due (broker/store/ladder_starts.h). `feed_reference`: the feed position of
// a delivery placed on its feed in the same transaction, stored with the row
// rather than by updating it afterwards.
absl::Status InsertDelivery(PgConn& conn, const DeliveryRecord& d,
                            const TimerRecord* ladder_start = nullptr,
                            const std::string* feed_reference = nullptr);

// New delivery rows inserted by one statement (unnest of arrays), in the
// order added: an intake creates about eight, each otherwise a statement
// run while its transaction holds the cluster's write lock.
class PgDeliveryRows {
 public:
  // As InsertDelivery's arguments.
  void Add(const DeliveryRecord& d, const TimerRecord* ladder_start = nullptr,
           const std::string* feed_reference = nullptr);
  // Defers the INSERT of what was added, if anything.
  absl::Status Defer(PgConn& conn) const;

 private:
  ArrayParam ids_, referrals_, agencies_, agency_kinds_, rule_ids_, adapters_, states_,
      attempts_, created_, next_attempts_, ack_deadlines_, delivery_deadlines_, kinds_, changes_,
      escalations_, last_attempts_, erasures_, claim_owners_, ladder_ids_, ladder_dues_,
      ladder_bases_, ladder_reasons_, transport_refs_, priorities_;
  size_t count_ = 0;
};

// Feed events inserted by one statement, as PgDeliveryRows: an intake puts
// about five deliveries on feeds.
class PgFeedEventRows {
 public:
  void Add(const std::string& agency_id, int64_t sequence, const std::string& delivery_id,
           absl::Time appended_at, uint64_t audit_index);
  absl::Status Defer(PgConn& conn) const;

 private:
  ArrayParam agencies_, sequences_, deliveries_, appended_, audit_indexes_;
  size_t count_ = 0;
};

// A delivery row's ladder start as the step-1 ladder timer it stands for,
// in kTimerColumns' order (never claimed: lease 0, no owner).
inline constexpr char kLadderStartColumns[] =
    "ladder_timer_id, referral_id, ladder_due_at, '' AS rule_ids, 1 AS kind, delivery_id, "
    "1 AS step, ladder_base_at, ladder_reason, 0 AS lease, '' AS claim_owner";
static_assert(kTimerLadder == 1, "literal kind in kLadderStartColumns");

TimerRecord ReadTimer(const PgResult& r, int row);
absl::Status InsertTimer(PgConn& conn, const TimerRecord& t, absl::Time now);
// Marks a pending timer fired if its claim's fencing value is `lease`:
// FAILED_PRECONDITION if it is no longer pending, ABORTED if the lease is
// stale (another broker claimed it since).
absl::Status MarkTimerFired(PgConn& conn, const std::string& timer_id, uint64_t lease,
                            absl::Time at);
// Pulls a ladder forward if its first step has not run yet (a timer row or
// a ladder start held in the delivery row).
absl::Status TriggerLadder(PgConn& conn, const std::string& delivery_id,
                           const LadderTrigger& trigger);
// Ends a delivery's ladder (acknowledged, redelivered): its timers only; the
// caller's update of the delivery row clears a ladder start there.
absl::Status StopLadder(PgConn& conn, const std::string& delivery_id, absl::Time at);

EscalationRecord ReadEscalation(const PgResult& r, int row);

// Whether a delivery with this id exists (to tell NOT_FOUND from a lost
// compare-and-set).
absl::StatusOr<bool> DeliveryExists(PgConn& conn, const std::string& delivery_id);
std::string JoinTargets(const std::vector<v1::EscalationTarget>& targets);

// A PostgreSQL array literal of quoted elements ("{\"a\",\"b \\\"c\\\"\"}"), to
// pass a set as one text parameter cast in SQL ($1::text[]); PgParams has
// no array type.
std::string TextArray(const std::vector<std::string>& values);

}  // namespace hart::pg
