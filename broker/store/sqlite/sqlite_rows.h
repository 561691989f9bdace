// Row codecs of the SQLite backend: how deliveries, timers and escalation
// events map to columns, and the small writes several concerns share.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "broker/records.h"
#include "broker/store/sqlite/sqlite_db.h"

namespace hart::sqlite {

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

std::optional<absl::Time> OptTime(const Statement& s, int col);
std::optional<int64_t> OptMicros(const std::optional<absl::Time>& t);

DeliveryRecord ReadDelivery(const Statement& s, int first = 0);
// `ladder_start`: the delivery's step-1 ladder timer, kept in its row until
// due (broker/store/ladder_starts.h). `feed_reference`: the feed position of
// a delivery placed on its feed in the same transaction, stored with the row
// rather than by updating it afterwards.
absl::Status InsertDelivery(SqliteDb& db, const DeliveryRecord& d,
                            const TimerRecord* ladder_start = nullptr,
                            const std::string* feed_reference = nullptr);

TimerRecord ReadTimer(const Statement& s);
// A delivery row's ladder start as the step-1 timer it stands for.
inline constexpr char kLadderStartColumns[] =
    "ladder_timer_id, referral_id, delivery_id, ladder_due_at, ladder_base_at, ladder_reason";
TimerRecord ReadLadderStart(const Statement& s);
absl::Status InsertTimer(SqliteDb& db, const TimerRecord& t, absl::Time now);
// Marks a pending timer fired if its claim's fencing value is `lease`:
// FAILED_PRECONDITION if it is no longer pending, ABORTED if the lease is
// stale (another broker claimed it since).
absl::Status MarkTimerFired(SqliteDb& db, const std::string& timer_id, uint64_t lease,
                            absl::Time at);
// Pulls a ladder forward if its first step has not run yet.
absl::Status TriggerLadder(SqliteDb& db, const std::string& delivery_id,
                           const LadderTrigger& trigger);
// Ends a delivery's ladder (acknowledged, redelivered): its timers only; the
// caller's update of the delivery row clears a ladder start there.
absl::Status StopLadder(SqliteDb& db, const std::string& delivery_id, absl::Time at);
// Moves the ladder starts due at `now` (at most `limit`, earliest first) into
// the timers table as the same pending timers, so they can be claimed.
absl::Status MoveDueLadderStarts(SqliteDb& db, absl::Time now, size_t limit);

EscalationRecord ReadEscalation(const Statement& s);

// Whether a delivery with this id exists (to tell NOT_FOUND from a lost
// compare-and-set).
absl::StatusOr<bool> DeliveryExists(SqliteDb& db, const std::string& delivery_id);
std::string JoinTargets(const std::vector<v1::EscalationTarget>& targets);

}  // namespace hart::sqlite
