#include "broker/dispatch/dispatch_loop.h"

#include <algorithm>

#include "broker/common/logging.h"
#include "broker/store/agency_holds.h"

namespace hart {

DispatchLoop::DispatchLoop(std::vector<Pass> due_work, std::vector<Pass> maintenance,
                           Store& store, const Clock& clock, HoldsFn holds,
                           absl::Duration max_idle_wait, absl::Duration maintenance_interval)
    : due_work_(std::move(due_work)),
      maintenance_(std::move(maintenance)),
      store_(store),
      clock_(clock),
      holds_(std::move(holds)),
      max_idle_wait_(max_idle_wait),
      maintenance_interval_(maintenance_interval),
      thread_([this] { Run(); }) {}

DispatchLoop::~DispatchLoop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void DispatchLoop::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
}

void DispatchLoop::WakeForWorkDue(absl::Time due) {
  absl::MutexLock lock(&mu_);
  if (planning_ || due < planned_turn_) woken_ = true;
}

std::optional<absl::Time> DispatchLoop::FirstDueWork(const NewReferral& referral,
                                                     std::span<const AgencyHold> holds) {
  std::optional<absl::Time> first;
  auto consider = [&first](absl::Time t) { first = first ? std::min(*first, t) : t; };
  for (const DeliveryRecord& d : referral.deliveries) {
    if (d.state == v1::PENDING) consider(ClaimableAt(d.next_attempt_at, d.agency_id, holds));
  }
  for (const TimerRecord& t : referral.timers) consider(t.due_at);
  return first;
}

bool DispatchLoop::WakePending() {
  absl::MutexLock lock(&mu_);
  return woken_;
}

std::optional<absl::Time> DispatchLoop::PlannedTurn() {
  absl::MutexLock lock(&mu_);
  if (planning_) return std::nullopt;
  return planned_turn_;
}

void DispatchLoop::Run() {
  static const auto log = Logger("dispatch");
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      woken_ = false;
      planning_ = true;
    }
    auto run = [&](const std::vector<Pass>& passes) {
      size_t done = 0;
      for (const Pass& pass : passes) {
        auto result = pass();
        if (!result.ok()) {
          log->error("event=pass_failed code={}",
                     absl::StatusCodeToString(result.status().code()));
        } else {
          done += *result;
        }
      }
      return done;
    };
    // Also when the clock stepped back past the last run: maintenance must
    // not stop for as long as the step.
    if (const absl::Time now = clock_.Now();
        now >= next_maintenance_ || now < next_maintenance_ - maintenance_interval_) {
      run(maintenance_);
      next_maintenance_ = now + maintenance_interval_;
    }
    const std::vector<AgencyHold> holds = holds_ ? holds_() : std::vector<AgencyHold>();
    auto next = store_.NextDueTime(holds);
    const absl::Time now = clock_.Now();
    if (!next.ok() || (next->has_value() && **next <= now)) {
      if (run(due_work_) > 0) continue;  // there may be more due right away
    }
    absl::Duration wait = max_idle_wait_;
    if (next.ok() && next->has_value()) {
      // At least a millisecond, so a claim racing a lease expiry cannot spin.
      wait = std::clamp(**next - now, absl::Milliseconds(1), max_idle_wait_);
    }
    absl::MutexLock lock(&mu_);
    planning_ = false;
    planned_turn_ = now + wait;
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return woken_ || stopping_; };
    mu_.AwaitWithTimeout(absl::Condition(&ready), wait);
  }
}

}  // namespace hart
