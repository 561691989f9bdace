// SupplementIntake: validates new facts, merges them into the referral,
// re-routes (new agencies get the referral, existing ones an UPDATE), and
// stores everything in one compare-and-set transaction. Idempotent on
// supplement_id: a retry gets the stored answer.
//
// Thread safety: safe to call concurrently (the store serialises changes of
// one referral with its version number). References must outlive it.
#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "broker/clock.h"
#include "broker/intake/referral_updater.h"
#include "broker/store.h"
#include "broker/store/write_queue.h"

namespace hart {

class SupplementProcessor {
 public:
  // Reads from `store`, writes through `writes` (the writer queue; Apply
  // waits for the commit, so call it from the store executor). `on_change`
  // runs after a supplement created deliveries (wakes the dispatcher); may
  // be empty.
  SupplementProcessor(const Geography& geography, const ReferralUpdater& updater, Store& store,
                      WriteQueue& writes, const Clock& clock, std::function<void()> on_change)
      : geography_(geography),
        updater_(updater),
        store_(store),
        writes_(writes),
        clock_(clock),
        on_change_(std::move(on_change)) {}

  absl::StatusOr<v1::SupplementIntakeResponse> Apply(const v1::SupplementIntakeRequest& request,
                                                     const std::string& actor);

 private:
  absl::StatusOr<std::string> ResolveReferralId(const v1::SupplementIntakeRequest& request);

  const Geography& geography_;
  const ReferralUpdater& updater_;
  Store& store_;
  WriteQueue& writes_;
  const Clock& clock_;
  const std::function<void()> on_change_;
};

}  // namespace hart
