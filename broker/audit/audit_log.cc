#include "broker/audit/audit_log.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/audit/merkle_tree.h"
#include "broker/common/time_util.h"

namespace hart::audit {
namespace {

// Proofs read the tree from the store, using its stored perfect subtrees.
class StoreHashReader final : public HashReader {
 public:
  explicit StoreHashReader(Store& store) : store_(store) {}
  absl::StatusOr<std::string> LeafHashAt(uint64_t index) override {
    return store_.AuditLeafHash(index);
  }
  std::optional<std::string> PerfectSubtreeHashAt(uint32_t height, uint64_t index) override {
    auto hash = store_.AuditSubtreeHash(height, index);
    return hash.ok() ? *hash : std::nullopt;
  }

 private:
  Store& store_;
};

}  // namespace

absl::StatusOr<std::optional<hart::referral::v1::Checkpoint>> AuditLog::LatestLocked() {
  if (!latest_loaded_) {
    auto all = store_.ListCheckpoints();
    if (!all.ok()) return all.status();
    if (!all->empty()) latest_ = all->back();
    latest_loaded_ = true;
  }
  return latest_;
}

void AuditLog::ForgetLatest() {
  absl::MutexLock lock(&checkpoint_mu_);
  latest_loaded_ = false;
}

absl::StatusOr<hart::referral::v1::Checkpoint> AuditLog::Checkpoint() {
  absl::MutexLock lock(&checkpoint_mu_);
  // The store's latest, not this broker's memory of it: brokers sharing a
  // store sign in turn (the leader; anyone asked by CreateCheckpoint), and
  // a remembered checkpoint older than another's would let a clock stepped
  // back sign a timestamp before the one already stored.
  // The latest first, then the head: a checkpoint another broker signed
  // meanwhile covers at most that head, and is returned as it is.
  latest_loaded_ = false;
  auto latest = LatestLocked();
  if (!latest.ok()) return latest.status();
  auto head = store_.AuditHead();
  if (!head.ok()) return head.status();
  absl::Time at = clock_.Now();
  if (latest->has_value()) {
    const auto& last = **latest;
    if (last.tree_size() >= head->size) return last;
    // Timestamps never go backwards, even if the wall clock does.
    at = std::max(at, FromProtoTime(last.timestamp()));
  }
  auto checkpoint = signer_.Sign(head->size, head->root_hash, at);
  if (!checkpoint.ok()) return checkpoint.status();
  if (auto s = store_.AppendCheckpoint(*checkpoint); !s.ok()) {
    // Another broker sharing the store may have signed meanwhile (this one
    // lost the leader lease): read the latest from the store next time.
    latest_loaded_ = false;
    return s;
  }
  latest_ = *checkpoint;
  return checkpoint;
}

absl::StatusOr<size_t> AuditLog::CheckpointIfDue(absl::Duration interval) {
  auto head = store_.AuditHead();
  if (!head.ok()) return head.status();
  if (head->size == 0) return 0;  // nothing to vouch for yet
  {
    absl::MutexLock lock(&checkpoint_mu_);
    auto latest = LatestLocked();
    if (!latest.ok()) return latest.status();
    if (latest->has_value()) {
      const auto& last = **latest;
      if (last.tree_size() == head->size) return 0;
      if (clock_.Now() - FromProtoTime(last.timestamp()) < interval) return 0;
    }
  }
  auto made = Checkpoint();
  if (!made.ok()) return made.status();
  return 1;
}

absl::StatusOr<hart::referral::v1::Checkpoint> AuditLog::GetCheckpoint(uint64_t tree_size) {
  auto all = store_.ListCheckpoints();
  if (!all.ok()) return all.status();
  if (all->empty()) return absl::NotFoundError("no checkpoint has been made yet");
  if (tree_size == 0) return all->back();
  for (const auto& c : *all) {
    if (c.tree_size() == tree_size) return c;
  }
  return absl::NotFoundError(absl::StrCat("no checkpoint at tree size ", tree_size));
}

absl::Status AuditLog::CheckSize(uint64_t tree_size) {
  auto head = store_.AuditHead();
  if (!head.ok()) return head.status();
  if (tree_size > head->size) {
    return absl::InvalidArgumentError(absl::StrCat("tree_size ", tree_size,
                                                   " is larger than the log (", head->size, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> AuditLog::ProveInclusion(uint64_t leaf_index,
                                                                  uint64_t tree_size) {
  if (auto s = CheckSize(tree_size); !s.ok()) return s;
  StoreHashReader reader(store_);
  return InclusionProof(reader, leaf_index, tree_size);
}

absl::StatusOr<std::vector<std::string>> AuditLog::ProveConsistency(uint64_t first_size,
                                                                    uint64_t second_size) {
  if (auto s = CheckSize(second_size); !s.ok()) return s;
  StoreHashReader reader(store_);
  return ConsistencyProof(reader, first_size, second_size);
}

}  // namespace hart::audit
