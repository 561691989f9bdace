// How a delivery reaches a partner. An adapter is chosen per agency by the
// type name in the agency's config; its factory parses the adapter's own
// settings (see adapter_registry.h).
//
// Thread safety: Deliver may be called concurrently from the dispatcher's
// threads; `done` may be invoked on any thread, exactly once, possibly
// before Deliver returns.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "broker/records.h"

namespace hart {

// The codes after which a delivery is tried again later: UNAVAILABLE,
// DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED. Any other error is final
// (a dead letter).
inline bool IsRetryableDeliveryError(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable ||
         code == absl::StatusCode::kDeadlineExceeded ||
         code == absl::StatusCode::kResourceExhausted || code == absl::StatusCode::kAborted;
}

struct DeliveryResult {
  // OK: handed over. A code IsRetryableDeliveryError accepts: retry later.
  // Anything else: retrying won't help (dead letter).
  absl::Status status;
  // OK only. True when the partner's system confirmed receipt (e.g. a 2xx):
  // the delivery becomes DELIVERED. False when the message is handed over
  // and the partner acknowledges RECEIVED later (e.g. a feed).
  bool transport_acknowledged = false;
  // Where it went, e.g. a feed sequence or a partner's report id. Empty
  // keeps what an earlier attempt recorded (e.g. a report already filed).
  std::string transport_ref;
  // A partner's Retry-After, if it gave one.
  std::optional<absl::Duration> retry_after;
  // False when the partner was not contacted at all (circuit open, the
  // broker shutting down): the attempt is not counted against the budget.
  bool attempted = true;
  // Deferred only: every delivery to this agency would be refused until
  // retry_after has passed (its circuit is open, or its queue is longer
  // than a claim lasts), not this one alone.
  bool holds_destination = false;

  // The partner's system confirmed receipt.
  static DeliveryResult Delivered(std::string ref) {
    DeliveryResult r;
    r.transport_acknowledged = true;
    r.transport_ref = std::move(ref);
    return r;
  }
  // Handed over; the partner acknowledges RECEIVED later.
  static DeliveryResult HandedOff(std::string ref) {
    DeliveryResult r;
    r.transport_ref = std::move(ref);
    return r;
  }
  // Failed; the status code decides between retry and dead letter.
  static DeliveryResult Failed(absl::Status status,
                               std::optional<absl::Duration> retry_after = std::nullopt) {
    DeliveryResult r;
    r.status = std::move(status);
    r.retry_after = retry_after;
    return r;
  }
  // Not tried now; try again after `retry_after`. Only the time budget
  // applies, the attempt budget does not.
  static DeliveryResult Deferred(absl::Status why, absl::Duration retry_after) {
    DeliveryResult r = Failed(std::move(why), retry_after);
    r.attempted = false;
    return r;
  }
  // Deferred, and so is every other delivery to the agency until then.
  static DeliveryResult DestinationDeferred(absl::Status why, absl::Duration retry_after) {
    DeliveryResult r = Deferred(std::move(why), retry_after);
    r.holds_destination = true;
    return r;
  }
};

class Adapter {
 public:
  using DoneCallback = std::function<void(DeliveryResult)>;
  virtual ~Adapter() = default;

  // The registered type name, e.g. "grpc_feed".
  virtual std::string_view type() const = 0;

  // Sends one claimed delivery. `delivery` is only valid during the call.
  virtual void Deliver(const DeliveryRecord& delivery, DoneCallback done) = 0;
};

}  // namespace hart
