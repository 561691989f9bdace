#include "broker/store/sqlite/sqlite_rows.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "broker/common/status_macros.h"
#include "broker/store/sqlite/sqlite_read_sql.h"

namespace hart::sqlite {

std::optional<absl::Time> OptTime(const Statement& s, int col) {
  auto v = s.OptInt(col);
  if (!v) return std::nullopt;
  return absl::FromUnixMicros(*v);
}

std::optional<int64_t> OptMicros(const std::optional<absl::Time>& t) {
  if (!t) return std::nullopt;
  return absl::ToUnixMicros(*t);
}

DeliveryRecord ReadDelivery(const Statement& s, int first) {
  DeliveryRecord d;
  int c = first;
  d.delivery_id = s.Text(c++);
  d.referral_id = s.Text(c++);
  d.agency_id = s.Text(c++);
  d.agency_kind = static_cast<v1::AgencyKind>(s.Int(c++));
  const std::string rules = s.Text(c++);
  if (!rules.empty()) d.rule_ids = absl::StrSplit(rules, ',');
  d.adapter_type = s.Text(c++);
  d.state = static_cast<v1::DeliveryState>(s.Int(c++));
  d.attempts = static_cast<uint32_t>(s.Int(c++));
  d.created_at = absl::FromUnixMicros(s.Int(c++));
  d.next_attempt_at = absl::FromUnixMicros(s.Int(c++));
  d.ack_deadline = absl::FromUnixMicros(s.Int(c++));
  d.delivery_deadline = OptTime(s, c++);
  d.last_attempt_at = OptTime(s, c++);
  d.lease_until = OptTime(s, c++);
  d.delivered_at = OptTime(s, c++);
  d.acknowledged_at = OptTime(s, c++);
  d.last_error = s.Text(c++);
  d.transport_ref = s.Text(c++);
  d.kind = static_cast<v1::MessageKind>(s.Int(c++));
  const std::string changes = s.Text(c++);
  if (!changes.empty()) d.changes = absl::StrSplit(changes, ',');
  const std::string escalation = s.Text(c++);
  if (!escalation.empty()) {
    d.escalation.emplace();
    d.escalation->ParseFromString(escalation);
  }
  d.redelivered_as = s.Text(c++);
  const std::string erasure = s.Text(c++);
  if (!erasure.empty()) {
    d.erasure.emplace();
    d.erasure->ParseFromString(erasure);
  }
  d.claim_owner = s.Text(c++);
  d.priority = static_cast<v1::Priority>(s.Int(c++));
  return d;
}

absl::Status InsertDelivery(SqliteDb& db, const DeliveryRecord& d,
                            const TimerRecord* ladder_start, const std::string* feed_reference) {
  HART_ASSIGN_OR_RETURN(ins, db.Prepare(
      "INSERT INTO deliveries (delivery_id, referral_id, agency_id, agency_kind, "
      "rule_ids, adapter_type, state, attempts, created_at, next_attempt_at, "
      "ack_deadline, delivery_deadline, kind, changes, escalation, last_attempt_at, erasure, "
      "claim_owner, ladder_timer_id, ladder_due_at, ladder_base_at, ladder_reason, "
      "transport_ref, priority) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  ins->BindRef(1, d.delivery_id).BindRef(2, d.referral_id).BindRef(3, d.agency_id)
      .Bind(4, int64_t{d.agency_kind}).Bind(5, absl::StrJoin(d.rule_ids, ","))
      .BindRef(6, d.adapter_type).Bind(7, int64_t{d.state}).Bind(8, int64_t{d.attempts})
      .Bind(9, absl::ToUnixMicros(d.created_at)).Bind(10, absl::ToUnixMicros(d.next_attempt_at))
      .Bind(11, absl::ToUnixMicros(d.ack_deadline)).Bind(12, OptMicros(d.delivery_deadline))
      .Bind(13, int64_t{d.kind}).Bind(14, absl::StrJoin(d.changes, ","))
      .BindBlob(15, d.escalation ? d.escalation->SerializeAsString() : std::string())
      .Bind(16, OptMicros(d.last_attempt_at))
      .BindBlob(17, d.erasure ? d.erasure->SerializeAsString() : std::string())
      .BindRef(18, d.claim_owner);
  if (ladder_start != nullptr) {
    ins->BindRef(19, ladder_start->timer_id).Bind(20, absl::ToUnixMicros(ladder_start->due_at))
        .Bind(21, absl::ToUnixMicros(ladder_start->base_at))
        .Bind(22, int64_t{ladder_start->reason});
  } else {
    ins->Bind(19, std::string()).Bind(20, std::optional<int64_t>())
        .Bind(21, int64_t{0}).Bind(22, int64_t{0});
  }
  ins->BindRef(23, feed_reference != nullptr ? *feed_reference : d.transport_ref)
      .Bind(24, int64_t{d.priority});
  return ins->Run();
}

TimerRecord ReadTimer(const Statement& s) {
  TimerRecord t;
  t.timer_id = s.Text(0);
  t.referral_id = s.Text(1);
  t.due_at = absl::FromUnixMicros(s.Int(2));
  const std::string rules = s.Text(3);
  if (!rules.empty()) t.rule_ids = absl::StrSplit(rules, ',');
  t.kind = s.Int(4) == kTimerLadder ? TimerRecord::Kind::kLadder : TimerRecord::Kind::kReroute;
  t.delivery_id = s.Text(5);
  t.step = static_cast<uint32_t>(s.Int(6));
  t.base_at = absl::FromUnixMicros(s.Int(7));
  t.reason = static_cast<v1::EscalationReason>(s.Int(8));
  t.lease = static_cast<uint64_t>(s.Int(9));
  t.claim_owner = s.Text(10);
  return t;
}

absl::Status InsertTimer(SqliteDb& db, const TimerRecord& t, absl::Time now) {
  HART_ASSIGN_OR_RETURN(ins, db.Prepare(
      "INSERT INTO timers (timer_id, referral_id, due_at, rule_ids, state, created_at, kind, "
      "delivery_id, step, base_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  ins->Bind(1, t.timer_id).Bind(2, t.referral_id).Bind(3, absl::ToUnixMicros(t.due_at))
      .Bind(4, absl::StrJoin(t.rule_ids, ",")).Bind(5, kTimerPending)
      .Bind(6, absl::ToUnixMicros(now))
      .Bind(7, t.kind == TimerRecord::Kind::kLadder ? kTimerLadder : kTimerReroute)
      .Bind(8, t.delivery_id).Bind(9, int64_t{t.step}).Bind(10, absl::ToUnixMicros(t.base_at))
      .Bind(11, int64_t{t.reason});
  return ins->Run();
}

absl::Status MarkTimerFired(SqliteDb& db, const std::string& timer_id, uint64_t lease,
                            absl::Time at) {
  HART_ASSIGN_OR_RETURN(fired, db.Prepare(
      "UPDATE timers SET state = ?, finished_at = ?, lease_until = NULL "
      "WHERE timer_id = ? AND state = ? AND lease = ?"));
  fired->Bind(1, kTimerFired).Bind(2, absl::ToUnixMicros(at)).Bind(3, timer_id)
      .Bind(4, kTimerPending).Bind(5, static_cast<int64_t>(lease));
  HART_RETURN_IF_ERROR(fired->Run());
  if (db.Changes() == 1) return absl::OkStatus();
  HART_ASSIGN_OR_RETURN(state, db.Prepare(read_sql::TimerState()));
  state->Bind(1, timer_id);
  HART_ASSIGN_OR_RETURN(found, state->Step());
  if (found && state->Int(0) == kTimerPending) {
    return absl::AbortedError("the timer was claimed again by another broker; its step is theirs");
  }
  return absl::FailedPreconditionError("the timer is no longer pending");
}

absl::Status TriggerLadder(SqliteDb& db, const std::string& delivery_id,
                           const LadderTrigger& trigger) {
  HART_ASSIGN_OR_RETURN(update, db.Prepare(read_sql::TriggerLadder()));
  update->Bind(1, absl::ToUnixMicros(trigger.due_at)).Bind(2, absl::ToUnixMicros(trigger.base_at))
      .Bind(3, int64_t{trigger.reason}).Bind(4, kTimerLadder).Bind(5, delivery_id)
      .Bind(6, kTimerPending).Bind(7, absl::ToUnixMicros(trigger.due_at));
  HART_RETURN_IF_ERROR(update->Run());
  // Or the start still held in the delivery row.
  HART_ASSIGN_OR_RETURN(start, db.Prepare(
      "UPDATE deliveries SET ladder_due_at = ?1, ladder_base_at = ?2, ladder_reason = ?3 "
      "WHERE delivery_id = ?4 AND ladder_due_at > ?1"));
  start->Bind(1, absl::ToUnixMicros(trigger.due_at)).Bind(2, absl::ToUnixMicros(trigger.base_at))
      .Bind(3, int64_t{trigger.reason}).Bind(4, delivery_id);
  return start->Run();
}

absl::Status StopLadder(SqliteDb& db, const std::string& delivery_id, absl::Time at) {
  // Kind and state are written into the SQL: bound, they could decide
  // whether the partial index timers_pending_due applies, and SQLite would
  // re-plan the statement on every call (TakeReplannedStatements).
  static const std::string sql = absl::StrCat(
      "UPDATE timers SET state = ?, finished_at = ?, lease_until = NULL "
      "WHERE kind = ", kTimerLadder, " AND delivery_id = ? AND state = ", kTimerPending);
  HART_ASSIGN_OR_RETURN(update, db.Prepare(sql));
  update->Bind(1, kTimerReplaced).Bind(2, absl::ToUnixMicros(at)).Bind(3, delivery_id);
  return update->Run();
}

absl::Status MoveDueLadderStarts(SqliteDb& db, absl::Time now, size_t limit) {
  HART_ASSIGN_OR_RETURN(select, db.Prepare(read_sql::DueLadderStarts()));
  select->Bind(1, absl::ToUnixMicros(now)).Bind(2, static_cast<int64_t>(limit));
  HART_ASSIGN_OR_RETURN(due, CollectRows(*select, ReadLadderStart));
  select.Release();
  for (const TimerRecord& t : due) {
    HART_RETURN_IF_ERROR(InsertTimer(db, t, now));
    HART_ASSIGN_OR_RETURN(clear, db.Prepare(
        "UPDATE deliveries SET ladder_due_at = NULL WHERE delivery_id = ?"));
    clear->Bind(1, t.delivery_id);
    HART_RETURN_IF_ERROR(clear->Run());
  }
  return absl::OkStatus();
}

TimerRecord ReadLadderStart(const Statement& s) {
  TimerRecord t;
  t.kind = TimerRecord::Kind::kLadder;
  t.step = 1;
  t.timer_id = s.Text(0);
  t.referral_id = s.Text(1);
  t.delivery_id = s.Text(2);
  t.due_at = absl::FromUnixMicros(s.Int(3));
  t.base_at = absl::FromUnixMicros(s.Int(4));
  t.reason = static_cast<v1::EscalationReason>(s.Int(5));
  return t;
}

absl::StatusOr<bool> DeliveryExists(SqliteDb& db, const std::string& delivery_id) {
  HART_ASSIGN_OR_RETURN(stmt, db.Prepare(read_sql::DeliveryExists()));
  stmt->Bind(1, delivery_id);
  return stmt->Step();
}

std::string JoinTargets(const std::vector<v1::EscalationTarget>& targets) {
  std::vector<std::string> numbers;
  for (auto t : targets) numbers.push_back(absl::StrCat(static_cast<int>(t)));
  return absl::StrJoin(numbers, ",");
}

EscalationRecord ReadEscalation(const Statement& s) {
  EscalationRecord e;
  e.sequence = static_cast<uint64_t>(s.Int(0));
  e.at = absl::FromUnixMicros(s.Int(1));
  e.referral_id = s.Text(2);
  e.delivery_id = s.Text(3);
  e.agency_id = s.Text(4);
  e.reason = static_cast<v1::EscalationReason>(s.Int(5));
  e.step = static_cast<uint32_t>(s.Int(6));
  for (auto part : absl::StrSplit(s.Text(7), ',', absl::SkipEmpty())) {
    int value = 0;
    if (absl::SimpleAtoi(part, &value)) e.targets.push_back(static_cast<v1::EscalationTarget>(value));
  }
  const std::string notices = s.Text(8);
  if (!notices.empty()) e.notice_delivery_ids = absl::StrSplit(notices, ',');
  const std::string agencies = s.Text(9);
  if (!agencies.empty()) e.notified_agency_ids = absl::StrSplit(agencies, ',');
  return e;
}

}  // namespace hart::sqlite
