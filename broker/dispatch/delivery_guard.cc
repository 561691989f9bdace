#include "broker/dispatch/delivery_guard.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/common/logging.h"
#include "broker/common/time_util.h"

namespace hart {
namespace {

using Admission = CircuitBreaker::Admission;

const std::shared_ptr<spdlog::logger>& Log() {
  static const auto log = Logger("delivery_guard");
  return log;
}

// Transport failures: the partner could not be reached or did not answer in
// time. Anything else means it answered.
bool IsTransportFailure(const absl::Status& status) {
  return IsRetryableDeliveryError(status.code());
}

DeliveryResult ShuttingDown() {
  return DeliveryResult::Deferred(absl::UnavailableError("broker shutting down"),
                                  absl::Seconds(1));
}

// A claim whose lease ran out before the delivery got a slot (it waited
// behind a slow partner) may be another dispatcher's claim by now, or this
// one's again: sending it would be a duplicate. It is answered unsent; the
// dispatcher's record of that is fenced off if the delivery was claimed
// again meanwhile, and makes it due again if not.
std::optional<DeliveryResult> ClaimRanOut(const DeliveryRecord& delivery, absl::Time now) {
  if (!delivery.lease_until || *delivery.lease_until > now) return std::nullopt;
  return DeliveryResult::Deferred(
      absl::UnavailableError(absl::StrCat(
          "the claim on delivery ", delivery.delivery_id, " ran out ",
          absl::FormatDuration(now - *delivery.lease_until),
          " ago, before a slot was free for it; not sent, since it may be claimed again")),
      absl::Seconds(1));
}

}  // namespace

DeliveryGuardPolicy DeliveryGuardPolicy::FromConfig(
    const ::hart::config::v1::DeliveryLimits& limits) {
  DeliveryGuardPolicy policy;
  if (limits.has_timeout() && FromProtoDuration(limits.timeout()) > absl::ZeroDuration()) {
    policy.timeout = FromProtoDuration(limits.timeout());
  }
  if (limits.max_concurrency() > 0) policy.max_concurrency = limits.max_concurrency();
  if (limits.failure_threshold() > 0) policy.failure_threshold = limits.failure_threshold();
  if (limits.has_open_for() && FromProtoDuration(limits.open_for()) > absl::ZeroDuration()) {
    policy.open_for = FromProtoDuration(limits.open_for());
  }
  policy.max_open_for = limits.has_max_open_for() ? FromProtoDuration(limits.max_open_for())
                                                  : 8 * policy.open_for;
  return policy;
}

GuardedAdapter::GuardedAdapter(std::string agency_id, std::unique_ptr<Adapter> inner,
                               DeliveryGuardPolicy policy, const Clock& clock,
                               Scheduler& scheduler)
    : agency_id_(std::move(agency_id)),
      type_(inner->type()),
      inner_(std::move(inner)),
      policy_(policy),
      clock_(clock),
      scheduler_(scheduler),
      watchdog_gate_(std::make_shared<CallbackGate>()),
      inner_gate_(std::make_shared<CallbackGate>()),
      breaker_(CircuitPolicy{policy.failure_threshold, policy.open_for, policy.max_open_for}) {}

GuardedAdapter::~GuardedAdapter() {
  std::deque<Waiting> waiting;
  std::vector<uint64_t> watchdogs;
  {
    absl::MutexLock lock(&mu_);
    closing_ = true;
    // Calls admitted just before keep the inner adapter until handed over.
    mu_.Await(absl::Condition(
        +[](int* launching) { return *launching == 0; }, &launching_));
    waiting.swap(waiting_);
    for (const auto& [id, call] : in_flight_) watchdogs.push_back(call.watchdog);
  }
  for (Waiting& w : waiting) w.done(ShuttingDown());
  for (uint64_t id : watchdogs) scheduler_.Cancel(id);
  watchdog_gate_->CloseAndWait();  // a watchdog already running finishes first
  inner_.reset();           // answers (or cancels) what it has in flight
  inner_gate_->CloseAndWait();
  std::map<uint64_t, Call> unanswered;
  {
    absl::MutexLock lock(&mu_);
    unanswered.swap(in_flight_);
  }
  for (auto& [id, call] : unanswered) {
    call.done(DeliveryResult::Failed(absl::UnavailableError(absl::StrCat(
        "broker shut down before the ", type_, " adapter answered"))));
  }
}

void GuardedAdapter::Deliver(const DeliveryRecord& delivery, DoneCallback done) {
  const absl::Time now = clock_.Now();
  std::optional<DeliveryResult> refusal;
  std::optional<uint64_t> call_id;
  {
    absl::MutexLock lock(&mu_);
    const size_t slots = Slots();
    if (closing_) {
      refusal = ShuttingDown();
    } else if (auto ran_out = ClaimRanOut(delivery, now)) {
      refusal = std::move(ran_out);
    } else if (!breaker_.WouldAllow(now)) {
      refusal = CircuitOpenResultLocked(now);
    } else if (waiting_.empty() && in_flight_.size() < slots) {
      call_id = AdmitLocked(now, std::move(done));
    } else if (auto no_room = NoRoomLocked(delivery, now)) {
      refusal = std::move(no_room);
    } else {
      const auto at = waiting_.begin() + static_cast<std::ptrdiff_t>(AheadOfLocked(delivery));
      waiting_.insert(at, Waiting{delivery, std::move(done)});
    }
  }
  if (refusal) {
    done(std::move(*refusal));
  } else if (call_id) {
    Launch(*call_id, delivery, now);
  } else {
    StartWaiting();  // a slot may have freed meanwhile
  }
}

uint64_t GuardedAdapter::AdmitLocked(absl::Time now, DoneCallback done) {
  const Admission admission = breaker_.Allow(now);
  if (admission == Admission::kProbe) {
    probe_deadline_ = now + policy_.timeout + policy_.watchdog_grace;
  }
  const uint64_t id = next_call_id_++;
  in_flight_.emplace(id, Call{std::move(done), admission, 0, now});
  ++launching_;
  return id;
}

void GuardedAdapter::Launch(uint64_t call_id, const DeliveryRecord& delivery, absl::Time now) {
  const uint64_t watchdog = scheduler_.RunAt(
      now + policy_.timeout + policy_.watchdog_grace,
      [gate = watchdog_gate_, this, call_id] {
        if (!gate->Enter()) return;
        OnWatchdog(call_id);
        gate->Exit();
      });
  bool answered = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = in_flight_.find(call_id);
    if (it == in_flight_.end()) {
      answered = true;
    } else {
      it->second.watchdog = watchdog;
    }
  }
  if (answered) {
    scheduler_.Cancel(watchdog);
  } else {
    inner_->Deliver(delivery, [gate = inner_gate_, this, call_id](DeliveryResult result) {
      if (!gate->Enter()) return;  // the guard is gone; it answered already
      OnInnerResult(call_id, std::move(result));
      gate->Exit();
    });
  }
  absl::MutexLock lock(&mu_);
  --launching_;
}

void GuardedAdapter::OnInnerResult(uint64_t call_id, DeliveryResult result) {
  const absl::Time now = clock_.Now();
  Call call;
  {
    absl::MutexLock lock(&mu_);
    auto it = in_flight_.find(call_id);
    if (it == in_flight_.end()) return;  // the watchdog answered first
    call = std::move(it->second);
    in_flight_.erase(it);
    if (call.admission == Admission::kProbe) probe_deadline_.reset();
    if (result.attempted) NoteCallTimeLocked(now - call.admitted_at);
    const CircuitBreaker::State before = breaker_.state(now);
    if (!result.attempted) {
      breaker_.RecordNotAttempted(call.admission);
    } else if (result.status.ok()) {
      breaker_.RecordSuccess();
      last_success_at_ = now;
    } else if (IsTransportFailure(result.status)) {
      breaker_.RecordFailure(now, call.admission);
      RecordErrorLocked(now, result.status);
    } else {
      // The partner answered, refusing this message: it is reachable.
      breaker_.RecordSuccess();
      RecordErrorLocked(now, result.status);
    }
    LogTransitionLocked(before, now);
  }
  scheduler_.Cancel(call.watchdog);
  call.done(std::move(result));
  StartWaiting();
}

void GuardedAdapter::OnWatchdog(uint64_t call_id) {
  const absl::Time now = clock_.Now();
  Call call;
  absl::Status status;
  {
    absl::MutexLock lock(&mu_);
    auto it = in_flight_.find(call_id);
    if (it == in_flight_.end()) return;  // answered meanwhile
    call = std::move(it->second);
    in_flight_.erase(it);
    if (call.admission == Admission::kProbe) probe_deadline_.reset();
    NoteCallTimeLocked(now - call.admitted_at);
    status = absl::DeadlineExceededError(absl::StrCat(
        "no answer from ", type_, " adapter within ", absl::FormatDuration(policy_.timeout)));
    const CircuitBreaker::State before = breaker_.state(now);
    breaker_.RecordFailure(now, call.admission);
    RecordErrorLocked(now, status);
    LogTransitionLocked(before, now);
  }
  Log()->warn("event=adapter_watchdog agency={} adapter={}", agency_id_, type_);
  call.done(DeliveryResult::Failed(status));
  StartWaiting();
}

void GuardedAdapter::StartWaiting() {
  {
    absl::MutexLock lock(&mu_);
    if (starting_) return;  // that thread sees the freed slot on its next round
    starting_ = true;
  }
  const size_t slots = Slots();
  for (;;) {
    const absl::Time now = clock_.Now();
    std::optional<Waiting> next;
    std::optional<DeliveryResult> refusal;
    uint64_t call_id = 0;
    {
      absl::MutexLock lock(&mu_);
      if (closing_ || waiting_.empty() || in_flight_.size() >= slots) {
        starting_ = false;
        return;
      }
      next.emplace(std::move(waiting_.front()));
      waiting_.pop_front();
      if (auto ran_out = ClaimRanOut(next->delivery, now)) {
        refusal = std::move(ran_out);
      } else if (breaker_.WouldAllow(now)) {
        call_id = AdmitLocked(now, std::move(next->done));
      } else {
        refusal = CircuitOpenResultLocked(now);
      }
    }
    if (refusal) {
      next->done(std::move(*refusal));
    } else {
      Launch(call_id, next->delivery, now);
    }
  }
}

DeliveryResult GuardedAdapter::CircuitOpenResultLocked(absl::Time now) const {
  // Come back when a probe may go: the open period's end, or when the
  // running probe has its answer at the latest.
  absl::Duration wait = absl::ZeroDuration();
  if (breaker_.state(now) == CircuitBreaker::State::kOpen && breaker_.open_until()) {
    wait = *breaker_.open_until() - now;
  } else if (probe_deadline_) {
    wait = *probe_deadline_ - now;
  }
  return DeliveryResult::DestinationDeferred(
      absl::UnavailableError(absl::StrCat(
          "circuit open for ", agency_id_, " after ", breaker_.consecutive_failures(),
          " consecutive failures (last: ", last_error_, ")")),
      std::max(wait, absl::Seconds(1)));
}

size_t GuardedAdapter::AheadOfLocked(const DeliveryRecord& delivery) const {
  if (delivery.priority != v1::URGENT) return waiting_.size();
  return static_cast<size_t>(
      std::find_if(waiting_.begin(), waiting_.end(),
                   [](const Waiting& w) { return w.delivery.priority != v1::URGENT; }) -
      waiting_.begin());
}

std::optional<DeliveryResult> GuardedAdapter::NoRoomLocked(const DeliveryRecord& delivery,
                                                           absl::Time now) const {
  if (waiting_.size() >= policy_.max_queued) {
    return DeliveryResult::DestinationDeferred(
        absl::ResourceExhaustedError(
            absl::StrCat(waiting_.size(), " deliveries already wait for ", agency_id_)),
        policy_.queue_full_retry_after);
  }
  if (call_time_ <= absl::ZeroDuration() || !delivery.lease_until) return std::nullopt;
  // Its slot comes once the calls ahead of it have gone, `slots` at a time,
  // after the calls in flight; its own call must be answered before the
  // claim runs out too, or the claim may be taken again while the partner
  // still has it (a duplicate). Counted whole, to err on the side of
  // waiting in the store rather than in the queue.
  const size_t slots = Slots();
  const size_t ahead = AheadOfLocked(delivery);
  const absl::Duration answered_in = call_time_ * static_cast<int64_t>(ahead / slots + 2);
  const absl::Duration left = *delivery.lease_until - now;
  if (answered_in < left) return std::nullopt;
  // The agency's backlog is held until the queue is down to half a lease's
  // worth (a lease at most, then it is looked at again): then a claim batch
  // tops it up (refusing what does not fit), so a backlog costs a batch of
  // refusals per half lease, not per call, and the queue never runs dry
  // meanwhile.
  const absl::Duration ms = absl::Milliseconds(1);
  return DeliveryResult::DestinationDeferred(
      absl::ResourceExhaustedError(absl::StrCat(
          ahead, " deliveries already wait for ", agency_id_, ": at its pace (",
          absl::FormatDuration(absl::Trunc(call_time_, ms)), " a call, ", slots,
          " at a time) this one would be answered in about ",
          absl::FormatDuration(absl::Trunc(answered_in, ms)),
          ", past its claim; it waits in the store instead")),
      std::clamp(answered_in - left / 2, absl::Seconds(1), std::max(left, absl::Seconds(1))));
}

void GuardedAdapter::NoteCallTimeLocked(absl::Duration took) {
  // Measured on the broker's clock, which an operator or NTP may step: no
  // call lasts beyond the watchdog, nor less than nothing.
  took = std::clamp(took, absl::ZeroDuration(), policy_.timeout + policy_.watchdog_grace);
  // An average over about the last eight calls: a slow spell shows within
  // a few calls, one slow call does not dominate.
  call_time_ = call_time_ <= absl::ZeroDuration() ? took : call_time_ + (took - call_time_) / 8;
}

void GuardedAdapter::RecordErrorLocked(absl::Time now, const absl::Status& status) {
  last_error_ = absl::StrCat(absl::StatusCodeToString(status.code()), ": ", status.message());
  last_error_at_ = now;
}

void GuardedAdapter::LogTransitionLocked(CircuitBreaker::State before, absl::Time now) {
  const CircuitBreaker::State after = breaker_.state(now);
  if (after == before) return;
  if (after == CircuitBreaker::State::kOpen) {
    Log()->warn("event=circuit_opened agency={} adapter={} failures={}", agency_id_, type_,
                breaker_.consecutive_failures());
  } else if (after == CircuitBreaker::State::kClosed) {
    Log()->info("event=circuit_closed agency={} adapter={}", agency_id_, type_);
  }
}

AdapterHealth GuardedAdapter::Health() const {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  AdapterHealth health;
  health.agency_id = agency_id_;
  health.adapter_type = type_;
  health.consecutive_failures = breaker_.consecutive_failures();
  health.in_flight = static_cast<uint32_t>(in_flight_.size());
  health.queued = static_cast<uint32_t>(waiting_.size());
  health.call_time = call_time_;
  health.last_error = last_error_;
  health.last_error_at = last_error_at_;
  health.last_success_at = last_success_at_;
  switch (breaker_.state(now)) {
    case CircuitBreaker::State::kOpen:
      health.state = AdapterHealth::State::kCircuitOpen;
      health.circuit_open_until = breaker_.open_until();
      break;
    case CircuitBreaker::State::kHalfOpen:
      health.state = AdapterHealth::State::kDegraded;
      break;
    case CircuitBreaker::State::kClosed:
      health.state = health.consecutive_failures > 0 ? AdapterHealth::State::kDegraded
                                                     : AdapterHealth::State::kUp;
      break;
  }
  return health;
}

}  // namespace hart
