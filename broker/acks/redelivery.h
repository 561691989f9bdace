// A supervisor's redelivery of a DEAD or DECLINED delivery, to the same or
// another agency: a new delivery with its own deadline and ladder; the old
// one's ladder stops. The reason is audited as a digest.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "broker/acks/ladders.h"
#include "broker/common/ids.h"
#include "broker/routing/geography.h"
#include "broker/clock.h"
#include "broker/store.h"

namespace hart {

class Redeliverer {
 public:
  // References must outlive it.
  Redeliverer(Store& store, const Geography& geography, const Ladders& ladders,
              const Clock& clock, IdGenerator& ids)
      : store_(store), geography_(geography), ladders_(ladders), clock_(clock), ids_(ids) {}

  // The new delivery. FAILED_PRECONDITION unless DEAD or DECLINED (and not
  // already redelivered); INVALID_ARGUMENT without a reason or for an
  // unknown agency.
  absl::StatusOr<DeliveryRecord> Redeliver(const std::string& delivery_id,
                                           const std::string& to_agency_id,
                                           const std::string& reason, const std::string& actor);

 private:
  Store& store_;
  const Geography& geography_;
  const Ladders& ladders_;
  const Clock& clock_;
  IdGenerator& ids_;
};

}  // namespace hart
