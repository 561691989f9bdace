// A circuit breaker for one destination, as a pure state machine over the
// times it is given (no clock inside). CLOSED: calls go through; after
// `failure_threshold` consecutive transport failures it opens. OPEN: calls
// are refused until `open_for` has passed. HALF_OPEN: exactly one probe goes
// through; its success closes the circuit, its failure opens a new period,
// twice as long as the last up to `max_open_for`.
// A time before the opening (the wall clock stepped back) counts as
// HALF_OPEN: a probe, not a refusal for the length of the step.
// Any success (the partner answered) resets the count.
//
// Thread safety: none; the owner serialises calls (DeliveryGuard's mutex).
#pragma once

#include <cstdint>
#include <optional>

#include "absl/time/time.h"

namespace hart {

struct CircuitPolicy {
  // Consecutive transport failures that open the circuit (0 means 1).
  uint32_t failure_threshold = 5;
  // How long an open circuit refuses calls before one probe may try.
  absl::Duration open_for = absl::Seconds(60);
  // The longest period after failed probes (at or below open_for: no growth).
  absl::Duration max_open_for = absl::ZeroDuration();
};

class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };
  // How Allow let a call through; report the call's outcome with it.
  enum class Admission { kRefused, kAdmitted, kProbe };

  explicit CircuitBreaker(CircuitPolicy policy);

  // Whether a call may go to the partner now; in HALF_OPEN the first call
  // becomes the probe and later ones are refused until its outcome arrives.
  Admission Allow(absl::Time now);
  // What Allow(now) would answer != kRefused, without taking the probe.
  bool WouldAllow(absl::Time now) const;

  // The partner answered (delivered, or refused the message for good).
  void RecordSuccess();
  // A transport failure (unreachable, timed out, overloaded) of a call
  // admitted as `how`.
  void RecordFailure(absl::Time now, Admission how);
  // A call admitted as `how` ended without contacting the partner: if it
  // was the probe, another call may probe.
  void RecordNotAttempted(Admission how);

  State state(absl::Time now) const;
  uint32_t consecutive_failures() const { return consecutive_failures_; }
  // While OPEN or HALF_OPEN: when the current open period ends (ended).
  std::optional<absl::Time> open_until() const;
  // HALF_OPEN with the probe out: every other call is refused.
  bool probe_in_flight() const { return probe_in_flight_; }
  const CircuitPolicy& policy() const { return policy_; }

 private:
  void Open(absl::Time now);

  const CircuitPolicy policy_;
  uint32_t consecutive_failures_ = 0;
  std::optional<absl::Time> opened_at_;  // set while OPEN or HALF_OPEN
  absl::Duration open_for_;              // the current period's length
  bool probe_in_flight_ = false;
};

}  // namespace hart
