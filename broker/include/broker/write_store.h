// Heterogeneous writes in one transaction: what the writer queue hands the
// store, so one fsync covers intakes, supplements, acks, timer firings,
// escalation steps and feed appends alike. See store.h, store_errors.h.
#pragma once

#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/write_batch.h"

namespace hart {

class WriteStore {
 public:
  virtual ~WriteStore() = default;
  // Applies `batch` in order, in ONE transaction. Each item is decided on
  // its own, exactly as its single-purpose call would decide it
  // (CreateReferrals, ApplyReferralChange, ApplyAck, ApplyEscalationStep,
  // AppendToFeeds of one item at its `at`, AppendAudit): an item failing with a
  // per-item code (IsPerItemWriteError) wrote nothing and gets that status;
  // the other items still apply. Any other error (storage, commit, fsync)
  // fails the call and nothing of the batch is stored. Returns one result
  // per item, in order; alternative i of WriteResult for alternative i of
  // WriteRequest. The batch is handed over: a layer may change its items in
  // place (the envelope layer seals them there rather than copy every
  // intake on the writer thread), so a caller never applies it again.
  virtual absl::StatusOr<std::vector<absl::StatusOr<WriteResult>>> ApplyWrites(
      std::span<WriteRequest> batch) = 0;

  // Called by the writer queue on the submitting thread, before it queues
  // `referral`: work a store layer can do on one item in advance (the
  // envelope layer seals it here), so that it does not wait in line on the
  // writer thread. ApplyWrites accepts a referral prepared or not. An error
  // refuses the item before it is queued; nothing is written.
  virtual absl::Status PrepareReferral(NewReferral& referral) {
    (void)referral;
    return absl::OkStatus();
  }
};

}  // namespace hart
