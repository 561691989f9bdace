// Sealing a referral by court order (CGS 46b-146): the referral's data key
// is destroyed, so its PII is unrecoverable from this broker at once; its
// pending deliveries and timers stop; every agency that received it gets an
// ERASURE notice naming the order (and nothing else). Audited.
#pragma once

#include <functional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "broker/clock.h"
#include "broker/common/ids.h"
#include "broker/routing/geography.h"
#include "broker/store.h"

namespace hart {

struct SealOutcome {
  std::vector<std::string> notified_agency_ids;
  uint32_t stopped_deliveries = 0;
};

class Sealer {
 public:
  // Run on the calling thread around each seal's write, with the referral
  // id: `before` just before it, `after` once it returned, whatever the
  // outcome (either may be empty). The seal does not pass the writer queue
  // whose commits the broker's in-memory copies of intakes follow: `before`
  // waits until the queue's hook has seen every commit made so far (the
  // referral's own included: its commit's hook may still be to come) and
  // then drops the feeds' tail; both tell feed subscriptions holding events
  // built earlier (feed/recent_seals.h). Seal may wait: call it on a thread
  // allowed to (the store executor).
  struct Hooks {
    std::function<void(const std::string& referral_id)> before;
    std::function<void(const std::string& referral_id)> after;
  };

  // References must outlive it.
  Sealer(Store& store, const Geography& geography, const Clock& clock, IdGenerator& ids,
         Hooks hooks = {})
      : store_(store), geography_(geography), clock_(clock), ids_(ids), hooks_(std::move(hooks)) {}

  // INVALID_ARGUMENT without an order reference; NOT_FOUND for an unknown
  // referral; FAILED_PRECONDITION if already sealed.
  absl::StatusOr<SealOutcome> Seal(const std::string& referral_id,
                                   const std::string& court_order_reference,
                                   const std::string& actor);

 private:
  Store& store_;
  const Geography& geography_;
  const Clock& clock_;
  IdGenerator& ids_;
  const Hooks hooks_;
};

}  // namespace hart
