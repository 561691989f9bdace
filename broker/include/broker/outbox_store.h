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

class OutboxStore {
 public:
  virtual ~OutboxStore() = default;

  // Claims up to `limit` deliveries that are due at `now`: PENDING with
  // next_attempt_at <= now, or IN_FLIGHT, never handed off, whose lease
  // expired (whoever held it). Claimed ones become IN_FLIGHT with
  // attempts+1 (the new fencing value), last_attempt_at = now,
  // lease_until = `lease_until` and claim_owner = this store's broker id.
  virtual absl::StatusOr<std::vector<DeliveryRecord>> ClaimDueDeliveries(
      absl::Time now, absl::Time lease_until, size_t limit) = 0;

  // Moves up to `limit` PENDING deliveries to `agency_id` due before
  // `until` to `until`, and returns how many moved (fewer than `limit`:
  // none is left): its destination refuses every delivery until then (an
  // open circuit), so its backlog is not claimed, refused and deferred one
  // by one meanwhile. The limit bounds one transaction (each row may sit on
  // a page of its own). Claimed deliveries are not touched, nor
  // (PostgreSQL) rows another transaction holds; no audit event is written
  // (none of them was attempted).
  virtual absl::StatusOr<size_t> DeferAgencyBacklog(const std::string& agency_id,
                                                    absl::Time until, size_t limit) = 0;

  // Releases this broker's own unexpired claims that were never handed off
  // (back to PENDING, due now) and its own timer claims: its previous
  // process's claims died with it. Claims of other brokers are untouched.
  virtual absl::Status ReleaseClaims(absl::Time now) = 0;

  // The earliest time a delivery or timer becomes claimable, if any.
  virtual absl::StatusOr<std::optional<absl::Time>> NextDueTime() = 0;

  // Records attempt outcomes (retry later, delivered, dead). An outcome is
  // applied only while its delivery is still IN_FLIGHT at the outcome's
  // fencing value (`DeliveryOutcome::attempt`); otherwise it changes
  // nothing (acknowledged meanwhile, or claimed again by another broker).
  virtual absl::Status RecordOutcomes(std::span<const DeliveryOutcome> outcomes) = 0;

  // Sends a DEAD or DECLINED delivery again (ABORTED if its state moved).
  virtual absl::Status ApplyRedelivery(const RedeliveryWrite& write) = 0;

  // NOT_FOUND for an unknown id.
  virtual absl::StatusOr<DeliveryRecord> GetDelivery(const std::string& delivery_id) = 0;
};

}  // namespace hart
