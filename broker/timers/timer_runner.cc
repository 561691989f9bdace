#include "broker/timers/timer_runner.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/common/logging.h"
#include "broker/common/time_util.h"

namespace hart {

absl::StatusOr<size_t> TimerRunner::RunOnce() {
  const absl::Time now = clock_.Now();
  auto due = store_.ClaimDueTimers(now, now + lease_, 64);
  if (!due.ok()) return due.status();
  size_t fired = 0;
  for (const TimerRecord& timer : *due) {
    if (absl::Status s = Fire(timer, now); !s.ok()) {
      // The lease expires and the timer is tried again: nothing is lost.
      Logger("timers")->error("event=timer_failed timer_id={} referral_id={} code={}",
                              timer.timer_id, timer.referral_id,
                              absl::StatusCodeToString(s.code()));
      continue;
    }
    ++fired;
  }
  return fired;
}

absl::Status TimerRunner::FireLadderStep(const TimerRecord& timer, absl::Time now) {
  auto delivery = store_.GetDelivery(timer.delivery_id);
  if (!delivery.ok()) return delivery.status();
  auto referral = store_.GetReferral(timer.referral_id);
  if (!referral.ok()) return referral.status();
  auto planned = ladders_.Plan(timer, *delivery, *referral, now);
  if (!planned.ok()) return planned.status();
  EscalationWrite write = std::move(*planned);
  write.fired_timer_lease = timer.lease;
  auto sequence = writes_.ApplyEscalationStepAndWait(write);
  // Already fired or stopped by an ACCEPTED ack meanwhile: nothing to do.
  if (absl::IsFailedPrecondition(sequence.status())) return absl::OkStatus();
  if (!sequence.ok()) return sequence.status();
  if (write.event) {
    Logger("escalation")->warn("event=escalated delivery_id={} agency={} step={} reason={} "
                               "notified={}",
                               timer.delivery_id, delivery->agency_id, timer.step,
                               v1::EscalationReason_Name(timer.reason),
                               absl::StrJoin(write.event->notified_agency_ids, ","));
    if (observer_ != nullptr) observer_->OnEscalationStep(*delivery, timer.step, timer.reason);
  }
  if (on_change_ && !write.notices.empty()) on_change_();
  if (on_escalation_ && *sequence > 0) on_escalation_(*sequence);
  return absl::OkStatus();
}

absl::Status TimerRunner::Fire(const TimerRecord& timer, absl::Time now) {
  if (timer.kind == TimerRecord::Kind::kLadder) return FireLadderStep(timer, now);
  const std::string actor = "broker/timer";
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto referral = store_.GetReferral(timer.referral_id);
    if (!referral.ok()) return referral.status();
    auto deliveries = store_.GetDeliveries(timer.referral_id);
    if (!deliveries.ok()) return deliveries.status();
    auto plan = updater_.Plan(*referral, *deliveries, referral->intake, {}, now, actor);
    if (!plan.ok()) return plan.status();
    ReferralChange& change = plan->change;
    change.fired_timer_id = timer.timer_id;
    change.fired_timer_lease = timer.lease;
    change.audit.insert(change.audit.begin(),
                        AuditEvent{now, actor, "timer.fired", timer.referral_id, "", "",
                                   absl::StrCat("timer=", timer.timer_id, " due=",
                                                FormatRfc3339(timer.due_at), " rules=",
                                                absl::StrJoin(timer.rule_ids, ","))});
    absl::Status status = writes_.ApplyReferralChangeAndWait(change);
    if (absl::IsAborted(status)) continue;
    // A supplement replaced the timer meanwhile: its facts decide now.
    if (absl::IsFailedPrecondition(status)) return absl::OkStatus();
    if (!status.ok()) return status;
    Logger("timers")->info("event=timer_fired timer_id={} referral_id={} new={} updated={}",
                           timer.timer_id, timer.referral_id, plan->new_agency_ids.size(),
                           plan->updated_agency_ids.size());
    if (on_change_ && !change.new_deliveries.empty()) on_change_();
    return absl::OkStatus();
  }
  return absl::AbortedError("the referral kept changing while its timer fired");
}

}  // namespace hart
