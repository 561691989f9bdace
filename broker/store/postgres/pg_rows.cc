#include "broker/store/postgres/pg_rows.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "broker/common/status_macros.h"

namespace hart::pg {

DeliveryRecord ReadDelivery(const PgResult& r, int row, int first) {
  DeliveryRecord d;
  int c = first;
  d.delivery_id = r.Text(row, c++);
  d.referral_id = r.Text(row, c++);
  d.agency_id = r.Text(row, c++);
  d.agency_kind = static_cast<v1::AgencyKind>(r.Int(row, c++));
  const std::string rules = r.Text(row, c++);
  if (!rules.empty()) d.rule_ids = absl::StrSplit(rules, ',');
  d.adapter_type = r.Text(row, c++);
  d.state = static_cast<v1::DeliveryState>(r.Int(row, c++));
  d.attempts = static_cast<uint32_t>(r.Int(row, c++));
  d.created_at = absl::FromUnixMicros(r.Int(row, c++));
  d.next_attempt_at = absl::FromUnixMicros(r.Int(row, c++));
  d.ack_deadline = absl::FromUnixMicros(r.Int(row, c++));
  d.delivery_deadline = r.OptTime(row, c++);
  d.last_attempt_at = r.OptTime(row, c++);
  d.lease_until = r.OptTime(row, c++);
  d.delivered_at = r.OptTime(row, c++);
  d.acknowledged_at = r.OptTime(row, c++);
  d.last_error = r.Text(row, c++);
  d.transport_ref = r.Text(row, c++);
  d.kind = static_cast<v1::MessageKind>(r.Int(row, c++));
  const std::string changes = r.Text(row, c++);
  if (!changes.empty()) d.changes = absl::StrSplit(changes, ',');
  const std::string escalation = r.Bytes(row, c++);
  if (!escalation.empty()) {
    d.escalation.emplace();
    d.escalation->ParseFromString(escalation);
  }
  d.redelivered_as = r.Text(row, c++);
  const std::string erasure = r.Bytes(row, c++);
  if (!erasure.empty()) {
    d.erasure.emplace();
    d.erasure->ParseFromString(erasure);
  }
  d.claim_owner = r.Text(row, c++);
  d.priority = static_cast<v1::Priority>(r.Int(row, c++));
  return d;
}

absl::Status InsertDelivery(PgConn& conn, const DeliveryRecord& d,
                            const TimerRecord* ladder_start, const std::string* feed_reference) {
  PgDeliveryRows rows;
  rows.Add(d, ladder_start, feed_reference);
  return rows.Defer(conn);
}

namespace {
std::optional<int64_t> OptMicros(const std::optional<absl::Time>& t) {
  if (!t) return std::nullopt;
  return absl::ToUnixMicros(*t);
}
}  // namespace

void PgDeliveryRows::Add(const DeliveryRecord& d, const TimerRecord* ladder_start,
                         const std::string* feed_reference) {
  ids_.Add(d.delivery_id);
  referrals_.Add(d.referral_id);
  agencies_.Add(d.agency_id);
  agency_kinds_.Add(int64_t{d.agency_kind});
  rule_ids_.Add(absl::StrJoin(d.rule_ids, ","));
  adapters_.Add(d.adapter_type);
  states_.Add(int64_t{d.state});
  attempts_.Add(static_cast<int64_t>(d.attempts));
  created_.Add(absl::ToUnixMicros(d.created_at));
  next_attempts_.Add(absl::ToUnixMicros(d.next_attempt_at));
  ack_deadlines_.Add(absl::ToUnixMicros(d.ack_deadline));
  delivery_deadlines_.Add(OptMicros(d.delivery_deadline));
  kinds_.Add(int64_t{d.kind});
  changes_.Add(absl::StrJoin(d.changes, ","));
  escalations_.AddHex(d.escalation ? d.escalation->SerializeAsString() : "");
  last_attempts_.Add(OptMicros(d.last_attempt_at));
  erasures_.AddHex(d.erasure ? d.erasure->SerializeAsString() : "");
  claim_owners_.Add(d.claim_owner);
  ladder_ids_.Add(ladder_start ? ladder_start->timer_id : std::string());
  ladder_dues_.Add(ladder_start ? std::optional<int64_t>(absl::ToUnixMicros(ladder_start->due_at))
                                : std::nullopt);
  ladder_bases_.Add(absl::ToUnixMicros(ladder_start ? ladder_start->base_at : absl::UnixEpoch()));
  ladder_reasons_.Add(int64_t{ladder_start ? ladder_start->reason : 0});
  transport_refs_.Add(feed_reference != nullptr ? *feed_reference : d.transport_ref);
  priorities_.Add(int64_t{d.priority});
  ++count_;
}

absl::Status PgDeliveryRows::Defer(PgConn& conn) const {
  if (count_ == 0) return absl::OkStatus();
  // WITH ORDINALITY: rows in the order added, so created_seq (the
  // creation order readers list by) follows it.
  return conn.Defer(
      "INSERT INTO deliveries (delivery_id, referral_id, agency_id, agency_kind, "
      "rule_ids, adapter_type, state, attempts, created_at, next_attempt_at, "
      "ack_deadline, delivery_deadline, kind, changes, escalation, last_attempt_at, erasure, "
      "claim_owner, ladder_timer_id, ladder_due_at, ladder_base_at, ladder_reason, "
      "transport_ref, priority) "
      "SELECT r.delivery_id, r.referral_id, r.agency_id, r.agency_kind, r.rule_ids, "
      "r.adapter_type, r.state, r.attempts, r.created_at, r.next_attempt_at, r.ack_deadline, "
      "r.delivery_deadline, r.kind, r.changes, decode(r.escalation, 'hex'), r.last_attempt_at, "
      "decode(r.erasure, 'hex'), r.claim_owner, r.ladder_timer_id, r.ladder_due_at, "
      "r.ladder_base_at, r.ladder_reason, r.transport_ref, r.priority "
      "FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::text[], $6::text[], "
      "$7::int8[], $8::int8[], $9::int8[], $10::int8[], $11::int8[], $12::int8[], $13::int8[], "
      "$14::text[], $15::text[], $16::int8[], $17::text[], $18::text[], $19::text[], "
      "$20::int8[], $21::int8[], $22::int8[], $23::text[], $24::int8[]) WITH ORDINALITY "
      "AS r(delivery_id, referral_id, agency_id, agency_kind, rule_ids, adapter_type, state, "
      "attempts, created_at, next_attempt_at, ack_deadline, delivery_deadline, kind, changes, "
      "escalation, last_attempt_at, erasure, claim_owner, ladder_timer_id, ladder_due_at, "
      "ladder_base_at, ladder_reason, transport_ref, priority, ord) ORDER BY r.ord",
      PgParams().Array(ids_.Literal()).Array(referrals_.Literal()).Array(agencies_.Literal())
          .Array(agency_kinds_.Literal()).Array(rule_ids_.Literal()).Array(adapters_.Literal())
          .Array(states_.Literal()).Array(attempts_.Literal()).Array(created_.Literal())
          .Array(next_attempts_.Literal()).Array(ack_deadlines_.Literal())
          .Array(delivery_deadlines_.Literal()).Array(kinds_.Literal()).Array(changes_.Literal())
          .Array(escalations_.Literal()).Array(last_attempts_.Literal()).Array(erasures_.Literal())
          .Array(claim_owners_.Literal()).Array(ladder_ids_.Literal()).Array(ladder_dues_.Literal())
          .Array(ladder_bases_.Literal()).Array(ladder_reasons_.Literal())
          .Array(transport_refs_.Literal()).Array(priorities_.Literal()));
}

void PgFeedEventRows::Add(const std::string& agency_id, int64_t sequence,
                          const std::string& delivery_id, absl::Time appended_at,
                          uint64_t audit_index) {
  agencies_.Add(agency_id);
  sequences_.Add(sequence);
  deliveries_.Add(delivery_id);
  appended_.Add(absl::ToUnixMicros(appended_at));
  audit_indexes_.Add(static_cast<int64_t>(audit_index));
  ++count_;
}

absl::Status PgFeedEventRows::Defer(PgConn& conn) const {
  if (count_ == 0) return absl::OkStatus();
  return conn.Defer(
      "INSERT INTO feed_events (agency_id, sequence, delivery_id, appended_at, audit_index) "
      "SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::int8[], $5::int8[])",
      PgParams().Array(agencies_.Literal()).Array(sequences_.Literal())
          .Array(deliveries_.Literal()).Array(appended_.Literal())
          .Array(audit_indexes_.Literal()));
}

TimerRecord ReadTimer(const PgResult& r, int row) {
  TimerRecord t;
  t.timer_id = r.Text(row, 0);
  t.referral_id = r.Text(row, 1);
  t.due_at = absl::FromUnixMicros(r.Int(row, 2));
  const std::string rules = r.Text(row, 3);
  if (!rules.empty()) t.rule_ids = absl::StrSplit(rules, ',');
  t.kind = r.Int(row, 4) == kTimerLadder ? TimerRecord::Kind::kLadder : TimerRecord::Kind::kReroute;
  t.delivery_id = r.Text(row, 5);
  t.step = static_cast<uint32_t>(r.Int(row, 6));
  t.base_at = absl::FromUnixMicros(r.Int(row, 7));
  t.reason = static_cast<v1::EscalationReason>(r.Int(row, 8));
  t.lease = static_cast<uint64_t>(r.Int(row, 9));
  t.claim_owner = r.Text(row, 10);
  return t;
}

absl::Status InsertTimer(PgConn& conn, const TimerRecord& t, absl::Time now) {
  return conn.Defer(
      "INSERT INTO timers (timer_id, referral_id, due_at, rule_ids, state, created_at, kind, "
      "delivery_id, step, base_at, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
      PgParams().Text(t.timer_id).Text(t.referral_id).Micros(t.due_at)
          .Text(absl::StrJoin(t.rule_ids, ",")).Int(kTimerPending).Micros(now)
          .Int(t.kind == TimerRecord::Kind::kLadder ? kTimerLadder : kTimerReroute)
          .Text(t.delivery_id).Int(t.step).Micros(t.base_at).Int(t.reason));
}

absl::Status MarkTimerFired(PgConn& conn, const std::string& timer_id, uint64_t lease,
                            absl::Time at) {
  HART_ASSIGN_OR_RETURN(fired, conn.Query(
      "UPDATE timers SET state = $1, finished_at = $2, lease_until = NULL "
      "WHERE timer_id = $3 AND state = $4 AND lease = $5",
      PgParams().Int(kTimerFired).Micros(at).Text(timer_id).Int(kTimerPending)
          .Int(static_cast<int64_t>(lease))));
  if (fired.affected() == 1) return absl::OkStatus();
  HART_ASSIGN_OR_RETURN(state, conn.Query("SELECT state FROM timers WHERE timer_id = $1",
                                          PgParams().Text(timer_id)));
  if (state.rows() == 1 && state.Int(0, 0) == kTimerPending) {
    return absl::AbortedError("the timer was claimed again by another broker; its step is theirs");
  }
  return absl::FailedPreconditionError("the timer is no longer pending");
}

absl::Status TriggerLadder(PgConn& conn, const std::string& delivery_id,
                           const LadderTrigger& trigger) {
  // The delivery row first: a claim moving its start into timers right now
  // makes this wait for that commit, and the timers update after it then
  // sees the moved timer, as if it had always been a timer row.
  HART_RETURN_IF_ERROR(conn.Defer(
      "UPDATE deliveries SET ladder_due_at = $1, ladder_base_at = $2, ladder_reason = $3 "
      "WHERE delivery_id = $4 AND ladder_due_at > $1",
      PgParams().Micros(trigger.due_at).Micros(trigger.base_at).Int(trigger.reason)
          .Text(delivery_id)));
  return conn.Defer(
      "UPDATE timers SET due_at = $1, base_at = $2, reason = $3, lease_until = NULL "
      "WHERE kind = $4 AND delivery_id = $5 AND state = $6 AND step = 1 AND due_at > $1",
      PgParams().Micros(trigger.due_at).Micros(trigger.base_at).Int(trigger.reason)
          .Int(kTimerLadder).Text(delivery_id).Int(kTimerPending));
}

absl::Status StopLadder(PgConn& conn, const std::string& delivery_id, absl::Time at) {
  return conn.Defer(
      "UPDATE timers SET state = $1, finished_at = $2, lease_until = NULL "
      "WHERE kind = $3 AND delivery_id = $4 AND state = $5",
      PgParams().Int(kTimerReplaced).Micros(at).Int(kTimerLadder).Text(delivery_id)
          .Int(kTimerPending));
}

absl::StatusOr<bool> DeliveryExists(PgConn& conn, const std::string& delivery_id) {
  HART_ASSIGN_OR_RETURN(row, conn.Query("SELECT 1 FROM deliveries WHERE delivery_id = $1",
                                        PgParams().Text(delivery_id)));
  return row.rows() > 0;
}

std::string JoinTargets(const std::vector<v1::EscalationTarget>& targets) {
  std::vector<std::string> numbers;
  for (auto t : targets) numbers.push_back(absl::StrCat(static_cast<int>(t)));
  return absl::StrJoin(numbers, ",");
}

EscalationRecord ReadEscalation(const PgResult& r, int row) {
  EscalationRecord e;
  e.sequence = static_cast<uint64_t>(r.Int(row, 0));
  e.at = absl::FromUnixMicros(r.Int(row, 1));
  e.referral_id = r.Text(row, 2);
  e.delivery_id = r.Text(row, 3);
  e.agency_id = r.Text(row, 4);
  e.reason = static_cast<v1::EscalationReason>(r.Int(row, 5));
  e.step = static_cast<uint32_t>(r.Int(row, 6));
  for (auto part : absl::StrSplit(r.Text(row, 7), ',', absl::SkipEmpty())) {
    int value = 0;
    if (absl::SimpleAtoi(part, &value)) e.targets.push_back(static_cast<v1::EscalationTarget>(value));
  }
  const std::string notices = r.Text(row, 8);
  if (!notices.empty()) e.notice_delivery_ids = absl::StrSplit(notices, ',');
  const std::string agencies = r.Text(row, 9);
  if (!agencies.empty()) e.notified_agency_ids = absl::StrSplit(agencies, ',');
  return e;
}

std::string TextArray(const std::vector<std::string>& values) {
  ArrayParam array;
  for (const std::string& value : values) array.Add(value);
  return array.Literal();
}

}  // namespace hart::pg
