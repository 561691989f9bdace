// Durable timers (time-driven rules, escalation ladder steps) and the
// escalation events they produce. Timer claims carry the claiming broker's
// id and a fencing value (`TimerRecord::lease`): firing a timer with a
// stale lease is ABORTED and changes nothing. See store.h, store_errors.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/records.h"

namespace hart {

class TimerStore {
 public:
  virtual ~TimerStore() = default;

  // Claims pending timers due at `now` (or whose claim expired), leasing
  // them until `lease_until`; each claim increments the timer's lease.
  virtual absl::StatusOr<std::vector<TimerRecord>> ClaimDueTimers(absl::Time now,
                                                                  absl::Time lease_until,
                                                                  size_t limit) = 0;
  // Pending timers of a referral, earliest first.
  virtual absl::StatusOr<std::vector<TimerRecord>> PendingTimers(
      const std::string& referral_id) = 0;

  // Applies a fired ladder step: the timer is marked fired, notices are
  // created, the escalation event gets the next global sequence, the next
  // step's timer is stored. FAILED_PRECONDITION if the timer is no longer
  // pending, ABORTED if `fired_timer_lease` is stale: nothing is written.
  // Returns the event's sequence (0 if there was no event).
  virtual absl::StatusOr<uint64_t> ApplyEscalationStep(const EscalationWrite& write) = 0;

  // Escalation events with sequence > after_sequence, oldest first.
  virtual absl::StatusOr<std::vector<EscalationRecord>> ReadEscalations(uint64_t after_sequence,
                                                                        size_t limit) = 0;
  // Escalation events of one delivery, oldest first.
  virtual absl::StatusOr<std::vector<EscalationRecord>> EscalationsOf(
      const std::string& delivery_id) = 0;
};

}  // namespace hart
