// What a push adapter answers when the broker could not load a delivery's
// message. The partner was never contacted, so a passing cause on the
// broker's side (its store busy or unreachable, a key file not yet in
// place) must not count against the partner: the delivery is deferred,
// which spends no attempt and which the agency's circuit does not count as
// the partner failing. The deferral grows with the delivery's age, so a
// cause that lasts costs a retry every few minutes, not a busy loop. Any
// other cause (the referral gone, its data unreadable) fails the attempt
// with the store's code, which decides between retry and dead letter as for
// any failure.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "broker/adapter.h"
#include "broker/records.h"

namespace hart::adapters {

// One adapter's answers for the messages it could not load. Logs, as the
// guard logs its circuit's changes, the first deferral after a load that
// worked (warn) and the first load that worked after deferrals (info).
// Thread safety: any thread.
class MessageLoads {
 public:
  explicit MessageLoads(std::string adapter_type) : adapter_type_(std::move(adapter_type)) {}

  // Deferred after MessageRetryDelay for a retryable `why`, else Failed;
  // either way the message names the adapter type and the delivery.
  DeliveryResult NotLoaded(const DeliveryRecord& delivery, const absl::Status& why);
  // The message of `delivery` was loaded.
  void Loaded(const DeliveryRecord& delivery);

 private:
  const std::string adapter_type_;
  std::atomic<uint64_t> deferred_in_a_row_{0};
};

// Half the delivery's age when it was claimed (last_attempt_at, stamped by
// the claim, less created_at), kept within [1 s, 5 min] as the dispatcher's
// backoff is, then scaled by a factor in [0.5, 1] drawn from its id, so
// deliveries deferred together do not all come back together.
absl::Duration MessageRetryDelay(const DeliveryRecord& delivery);

}  // namespace hart::adapters
