// The outbox: deliveries waiting for, or in, an attempt. Claims carry the
// claiming broker's id and a fencing value (the delivery's attempt number):
// an outcome whose fencing value is stale changes nothing, so a broker that
// lost its lease (paused, partitioned) cannot overwrite the work of the
// broker that took the delivery over. See store.h and store_errors.h.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/records.h"

namespace hart {

// An agency whose destination refuses every delivery until `until` (an
// open circuit, a full queue): its PENDING NORMAL deliveries are neither
// claimed nor due before then, and their rows are not rewritten to say so
// (a backlog of a partner down for hours may be most of the outbox). Its
// URGENT ones are claimed and due as if it were not held: they go ahead
// of the backlog, or are refused again at once.
struct AgencyHold {
  std::string agency_id;
  absl::Time until;
};

class OutboxStore {
 public:
  virtual ~OutboxStore() = default;

  // Claims up to `limit` deliveries that are due at `now`: PENDING with
  // next_attempt_at <= now, unless NORMAL and their agency is in `holds`
  // until after `now`, or IN_FLIGHT, never handed off, whose lease expired
  // (whoever held it). Claimed ones become IN_FLIGHT with attempts+1 (the
  // new fencing value), last_attempt_at = now, lease_until = `lease_until`
  // and claim_owner = this store's broker id. URGENT PENDING ones first,
  // then the other PENDING ones, each earliest next_attempt_at first, then
  // the expired claims.
  virtual absl::StatusOr<std::vector<DeliveryRecord>> ClaimDueDeliveries(
      absl::Time now, absl::Time lease_until, size_t limit,
      std::span<const AgencyHold> holds) = 0;

  // Releases this broker's own unexpired claims that were never handed off
  // (back to PENDING, due now) and its own timer claims: its previous
  // process's claims died with it. Claims of other brokers are untouched.
  virtual absl::Status ReleaseClaims(absl::Time now) = 0;

  // The earliest time a delivery or timer becomes claimable, if any; a
  // held agency's PENDING NORMAL deliveries no earlier than its hold's
  // `until`.
  virtual absl::StatusOr<std::optional<absl::Time>> NextDueTime(
      std::span<const AgencyHold> holds) = 0;

  // Records attempt outcomes (retry later, delivered, dead). An outcome is
  // applied only while its delivery is still IN_FLIGHT at the outcome's
  // fencing value (`DeliveryOutcome::attempt`); otherwise it changes
  // nothing (acknowledged meanwhile, or claimed again by another broker).
  virtual absl::Status RecordOutcomes(std::span<const DeliveryOutcome> outcomes) = 0;

  // Sends a DEAD or DECLINED delivery again (ABORTED if its state moved).
  virtual absl::Status ApplyRedelivery(const RedeliveryWrite& write) = 0;

  // NOT_FOUND for an unknown id.
  virtual absl::StatusOr<DeliveryRecord> GetDelivery(const std::string& delivery_id) = 0;

  // GetDelivery for each id, in order. A backend that can reads them all in
  // one read transaction: a batch of acknowledgements costs one snapshot,
  // not one per ack.
  virtual std::vector<absl::StatusOr<DeliveryRecord>> GetDeliveriesByIds(
      std::span<const std::string> delivery_ids) {
    std::vector<absl::StatusOr<DeliveryRecord>> deliveries;
    deliveries.reserve(delivery_ids.size());
    for (const std::string& id : delivery_ids) deliveries.push_back(GetDelivery(id));
    return deliveries;
  }
};

}  // namespace hart
