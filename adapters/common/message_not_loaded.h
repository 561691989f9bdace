// What a push adapter answers when the broker could not load a delivery's
// message. The partner was never contacted, so a passing cause on the
// broker's side (its store busy or unreachable, a key file not yet in
// place) must not count against the partner: the delivery is deferred,
// which spends no attempt and which the agency's circuit does not count as
// the partner failing. The deferral grows with the delivery's age, so a
// cause that lasts costs a retry a minute, not a busy loop. Any other cause
// (the referral gone, its data unreadable) fails the attempt with the
// store's code, which decides between retry and dead letter as for any
// failure.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "broker/adapter.h"
#include "broker/records.h"

namespace hart::adapters {

// Deferred after MessageRetryDelay for a retryable `why`, else Failed;
// either way the message names `adapter_type` and the delivery.
DeliveryResult MessageNotLoaded(const DeliveryRecord& delivery, const absl::Status& why,
                                absl::string_view adapter_type);

// Half the delivery's age when it was claimed (last_attempt_at, stamped by
// the claim, less created_at), kept within [1 s, 60 s], then scaled by a
// factor in [0.5, 1] drawn from its id, so deliveries deferred together do
// not all come back together.
absl::Duration MessageRetryDelay(const DeliveryRecord& delivery);

}  // namespace hart::adapters
