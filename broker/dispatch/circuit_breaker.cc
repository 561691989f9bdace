#include "broker/dispatch/circuit_breaker.h"

#include <algorithm>

namespace hart {

CircuitBreaker::CircuitBreaker(CircuitPolicy policy)
    : policy_(policy), open_for_(policy.open_for) {}

CircuitBreaker::State CircuitBreaker::state(absl::Time now) const {
  if (!opened_at_) return State::kClosed;
  // A wall clock stepped back past the opening: how long the circuit has
  // been open is unknown, so one probe decides, rather than refusing the
  // partner for as long as the step (minutes, hours) on top of `open_for`.
  if (now < *opened_at_) return State::kHalfOpen;
  return now < *opened_at_ + open_for_ ? State::kOpen : State::kHalfOpen;
}

std::optional<absl::Time> CircuitBreaker::open_until() const {
  if (!opened_at_) return std::nullopt;
  return *opened_at_ + open_for_;
}

bool CircuitBreaker::WouldAllow(absl::Time now) const {
  switch (state(now)) {
    case State::kClosed:
      return true;
    case State::kOpen:
      return false;
    case State::kHalfOpen:
      return !probe_in_flight_;
  }
  return false;
}

CircuitBreaker::Admission CircuitBreaker::Allow(absl::Time now) {
  switch (state(now)) {
    case State::kClosed:
      return Admission::kAdmitted;
    case State::kOpen:
      return Admission::kRefused;
    case State::kHalfOpen:
      if (probe_in_flight_) return Admission::kRefused;
      probe_in_flight_ = true;
      return Admission::kProbe;
  }
  return Admission::kRefused;
}

void CircuitBreaker::RecordSuccess() {
  consecutive_failures_ = 0;
  opened_at_.reset();
  probe_in_flight_ = false;
}

void CircuitBreaker::RecordFailure(absl::Time now, Admission how) {
  ++consecutive_failures_;
  if (how == Admission::kProbe && probe_in_flight_) {
    probe_in_flight_ = false;
    Open(now);  // the probe failed: a new open period
    return;
  }
  // Failures of calls admitted before the circuit opened change nothing more.
  if (!opened_at_ && consecutive_failures_ >= std::max<uint32_t>(1, policy_.failure_threshold)) {
    Open(now);
  }
}

void CircuitBreaker::RecordNotAttempted(Admission how) {
  if (how == Admission::kProbe) probe_in_flight_ = false;
}

void CircuitBreaker::Open(absl::Time now) {
  // A failed probe (the circuit was open already) doubles the period.
  open_for_ = opened_at_ ? std::min(2 * open_for_, std::max(policy_.open_for, policy_.max_open_for))
                         : policy_.open_for;
  opened_at_ = now;
}

}  // namespace hart
