// Fires durable timers: when a time-driven rule's moment comes (e.g.
// missing_since + 72 h), the referral is routed again with nobody touching
// it, and whatever the rule now calls for is sent. Timers live in the store,
// so a restarted broker fires them on time.
//
// Thread safety: RunOnce from one thread at a time. References must outlive it.
#pragma once

#include <functional>

#include "absl/status/statusor.h"
#include "broker/clock.h"
#include "broker/intake/referral_updater.h"
#include "broker/store.h"

namespace hart {

class TimerRunner {
 public:
  // `on_change` runs after a firing created deliveries; may be empty.
  TimerRunner(Store& store, const ReferralUpdater& updater, const Clock& clock,
              absl::Duration lease, std::function<void()> on_change)
      : store_(store),
        updater_(updater),
        clock_(clock),
        lease_(lease),
        on_change_(std::move(on_change)) {}

  // Fires every timer due now; returns how many fired.
  absl::StatusOr<size_t> RunOnce();

 private:
  absl::Status Fire(const TimerRecord& timer, absl::Time now);

  Store& store_;
  const ReferralUpdater& updater_;
  const Clock& clock_;
  const absl::Duration lease_;
  const std::function<void()> on_change_;
};

}  // namespace hart
