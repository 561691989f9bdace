// Referrals and their supplements: the intake as accepted, every change to
// it, and its sealing. Part of the Store (see store.h for the contract every
// method shares, store_errors.h for what each status code means).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker/records.h"

namespace hart {

class ReferralStore {
 public:
  virtual ~ReferralStore() = default;

  // Stores a batch of referrals in ONE transaction (group commit). Per item:
  // a new careline_report_id is created; a known one with the same content
  // digest is kDuplicate; with a different digest, kConflict. Items are
  // applied in order, so a repeat inside the batch is seen as a duplicate.
  // On error nothing of the batch is stored.
  virtual absl::StatusOr<std::vector<CreateReferralResult>> CreateReferrals(
      std::span<const NewReferral> batch) = 0;

  // Applies a supplement or a fired reroute timer: new facts, new
  // deliveries, replaced timers, audit. ABORTED if the referral's version
  // moved on or the fired timer's lease is stale; FAILED_PRECONDITION if the
  // fired timer is no longer pending. Nothing is written on error.
  virtual absl::Status ApplyReferralChange(const ReferralChange& change) = 0;

  // The supplement stored under `supplement_id`, if any.
  virtual absl::StatusOr<std::optional<StoredSupplement>> FindSupplement(
      const std::string& supplement_id) = 0;
  // Supplement ids of a referral, oldest first.
  virtual absl::StatusOr<std::vector<std::string>> ListSupplements(
      const std::string& referral_id) = 0;

  // The referral id for a careline_report_id; NOT_FOUND if none.
  virtual absl::StatusOr<std::string> FindReferralId(const std::string& careline_report_id) = 0;

  // NOT_FOUND for an unknown id.
  virtual absl::StatusOr<ReferralRecord> GetReferral(const std::string& referral_id) = 0;

  // Seals a referral: destroys its data key (its PII can no longer be
  // read, by anyone), blanks its stored intake and acknowledgement notes,
  // stops deliveries not yet handed off (SEALED) and every timer, stores
  // the erasure notices and audit. FAILED_PRECONDITION if unknown or
  // already sealed.
  virtual absl::StatusOr<SealResult> SealReferral(const SealWrite& write) = 0;
};

}  // namespace hart
