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
  // References must outlive it. `before_seal` (may be empty) runs just
  // before each seal is written, on the calling thread: it drops the copies
  // of intakes in the clear that the broker keeps in memory (the feeds'
  // tail), since the seal does not pass the writer queue whose commits they
  // follow. Nothing can put the sealed referral's intake back there: only a
  // new referral's commit adds to it.
  Sealer(Store& store, const Geography& geography, const Clock& clock, IdGenerator& ids,
         std::function<void()> before_seal = {})
      : store_(store),
        geography_(geography),
        clock_(clock),
        ids_(ids),
        before_seal_(std::move(before_seal)) {}

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
  const std::function<void()> before_seal_;
};

}  // namespace hart
