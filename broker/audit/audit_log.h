// The audit log's services over the store: signed checkpoints (timestamps
// never go backwards), inclusion and consistency proofs.
//
// Thread safety: safe to call concurrently; checkpoints are serialised.
// References must outlive the log.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/audit/checkpoint_signer.h"
#include "broker/clock.h"
#include "broker/store.h"

namespace hart::audit {

class AuditLog {
 public:
  AuditLog(Store& store, const CheckpointSigner& signer, const Clock& clock)
      : store_(store), signer_(signer), clock_(clock) {}

  // The latest checkpoint is read from the store again on next use: this
  // broker just became the leader of brokers sharing the store, and the
  // others may have signed meanwhile.
  void ForgetLatest();
  // Signs and stores a checkpoint of the current tree; if the tree has not
  // grown since the last checkpoint, returns that one.
  absl::StatusOr<hart::referral::v1::Checkpoint> Checkpoint();
  // Checkpoints if `interval` passed since the last one and the tree grew;
  // returns how many were made (0 or 1). For the broker's periodic loop.
  absl::StatusOr<size_t> CheckpointIfDue(absl::Duration interval);
  // The checkpoint at exactly `tree_size`, or the latest for 0.
  absl::StatusOr<hart::referral::v1::Checkpoint> GetCheckpoint(uint64_t tree_size);

  absl::StatusOr<std::vector<std::string>> ProveInclusion(uint64_t leaf_index, uint64_t tree_size);
  absl::StatusOr<std::vector<std::string>> ProveConsistency(uint64_t first_size,
                                                            uint64_t second_size);

  const CheckpointSigner& signer() const { return signer_; }

 private:
  absl::Status CheckSize(uint64_t tree_size);
  // The latest checkpoint, read from the store once and then kept.
  absl::StatusOr<std::optional<hart::referral::v1::Checkpoint>> LatestLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(checkpoint_mu_);

  Store& store_;
  const CheckpointSigner& signer_;
  const Clock& clock_;
  absl::Mutex checkpoint_mu_;
  bool latest_loaded_ ABSL_GUARDED_BY(checkpoint_mu_) = false;
  std::optional<hart::referral::v1::Checkpoint> latest_ ABSL_GUARDED_BY(checkpoint_mu_);
};

}  // namespace hart::audit
