#include "broker/timers/timer_runner.h"

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/strings/str_join.h"
#include "broker/common/logging.h"
#include "broker/common/time_util.h"

namespace hart {

absl::StatusOr<size_t> TimerRunner::RunOnce() {
  const absl::Time now = clock_.Now();
  auto due = store_.ClaimDueTimers(now, now + lease_, kClaimBatch);
  if (!due.ok()) return due.status();
  size_t fired = 0;
  std::vector<const TimerRecord*> ladder_steps;
  for (const TimerRecord& timer : *due) {
    if (timer.kind == TimerRecord::Kind::kLadder) {
      ladder_steps.push_back(&timer);
      continue;
    }
    if (absl::Status s = FireRuleTimer(timer, now); !s.ok()) {
      LogFailure(timer, s);
      continue;
    }
    ++fired;
  }
  return fired + FireLadderSteps(ladder_steps, now);
}

void TimerRunner::LogFailure(const TimerRecord& timer, const absl::Status& status) {
  // The lease expires and the timer is tried again: nothing is lost.
  Logger("timers")->error("event=timer_failed timer_id={} referral_id={} code={}",
                          timer.timer_id, timer.referral_id,
                          absl::StatusCodeToString(status.code()));
}

size_t TimerRunner::FireLadderSteps(std::span<const TimerRecord* const> timers, absl::Time now) {
  // What a step's answer needs once its write is gone to the queue.
  struct Step {
    const TimerRecord* timer;
    DeliveryRecord delivery;
    std::optional<std::string> notified;  // set when the step escalates
    bool has_notices = false;
    absl::StatusOr<uint64_t> sequence = absl::UnknownError("not written");
  };
  std::vector<Step> steps;
  std::vector<EscalationWrite> writes;
  steps.reserve(timers.size());
  writes.reserve(timers.size());
  for (const TimerRecord* timer : timers) {
    absl::StatusOr<PlannedStep> planned = PlanLadderStep(*timer, now);
    if (!planned.ok()) {
      LogFailure(*timer, planned.status());
      continue;
    }
    EscalationWrite& write = planned->write;
    Step& step = steps.emplace_back(Step{timer, std::move(planned->delivery)});
    if (write.event) step.notified = absl::StrJoin(write.event->notified_agency_ids, ",");
    step.has_notices = !write.notices.empty();
    writes.push_back(std::move(write));
  }
  // One delivery each and the next step's timer due later: the steps of a
  // claim are independent, so they go to the writer queue together and
  // share a group commit, not one fsync each (a partner that acknowledges
  // nothing makes a storm of them).
  absl::Mutex mu;
  size_t unanswered = steps.size();
  for (size_t i = 0; i < steps.size(); ++i) {
    writes_.ApplyEscalationStep(std::move(writes[i]),
                                [&mu, &unanswered, &step = steps[i]](absl::StatusOr<uint64_t> r) {
                                  absl::MutexLock lock(&mu);
                                  step.sequence = std::move(r);
                                  --unanswered;
                                });
  }
  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(+[](size_t* n) { return *n == 0; }, &unanswered));
  }
  size_t fired = 0;
  for (const Step& step : steps) {
    // Already fired or stopped by an ACCEPTED ack meanwhile: nothing to do.
    if (absl::IsFailedPrecondition(step.sequence.status())) {
      ++fired;
      continue;
    }
    if (!step.sequence.ok()) {
      LogFailure(*step.timer, step.sequence.status());
      continue;
    }
    ++fired;
    const TimerRecord& timer = *step.timer;
    if (step.notified) {
      Logger("escalation")->warn("event=escalated delivery_id={} agency={} step={} reason={} "
                                 "notified={}",
                                 timer.delivery_id, step.delivery.agency_id, timer.step,
                                 v1::EscalationReason_Name(timer.reason), *step.notified);
      if (observer_ != nullptr) observer_->OnEscalationStep(step.delivery, timer.step, timer.reason);
    }
    if (on_change_ && step.has_notices) on_change_();
    if (on_escalation_ && *step.sequence > 0) on_escalation_(*step.sequence);
  }
  return fired;
}

absl::StatusOr<TimerRunner::PlannedStep> TimerRunner::PlanLadderStep(const TimerRecord& timer,
                                                                     absl::Time now) {
  auto delivery = store_.GetDelivery(timer.delivery_id);
  if (!delivery.ok()) return delivery.status();
  auto referral = store_.GetReferral(timer.referral_id);
  if (!referral.ok()) return referral.status();
  auto planned = ladders_.Plan(timer, *delivery, *referral, now);
  if (!planned.ok()) return planned.status();
  planned->fired_timer_lease = timer.lease;
  return PlannedStep{std::move(*delivery), std::move(*planned)};
}

absl::Status TimerRunner::FireRuleTimer(const TimerRecord& timer, absl::Time now) {
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
    absl::Status status =
        writes_.ApplyReferralChangeAndWait(change, WriteQueue::Priority::kBackground);
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
