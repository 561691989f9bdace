#include "broker/audit/audit_tree_writer.h"

#include "broker/audit/audit_entry.h"

namespace hart::audit {

AuditTreeWriter::AuditTreeWriter(CompactRange committed)
    : tree_(std::move(committed)), at_begin_(tree_) {
  committed_head_ = {tree_.size(), tree_.RootHash()};
}

void AuditTreeWriter::Begin() { at_begin_ = tree_; }

absl::StatusOr<uint64_t> AuditTreeWriter::Append(AuditTreeRows& rows, const AuditEvent& event) {
  const uint64_t index = tree_.size();
  const std::string leaf_hash = EventLeafHash(index, event);
  if (auto s = rows.InsertLeaf(index, event, leaf_hash); !s.ok()) return s;
  absl::Status subtree_status;
  absl::Status appended = tree_.Append(
      leaf_hash, [&](uint32_t height, uint64_t subtree_index, const std::string& hash) {
        if (height < kMinStoredSubtreeHeight || !subtree_status.ok()) return;
        subtree_status = rows.PutSubtree(height, subtree_index, hash);
      });
  if (!appended.ok()) return appended;
  if (!subtree_status.ok()) return subtree_status;
  return index;
}

absl::Status AuditTreeWriter::SaveIfGrown(AuditTreeRows& rows) {
  if (tree_.size() == at_begin_.size()) return absl::OkStatus();
  return rows.SaveTreeState(tree_.size(), tree_.Serialize());
}

void AuditTreeWriter::Committed() {
  if (tree_.size() == at_begin_.size()) return;
  at_begin_ = tree_;
  absl::MutexLock lock(&head_mu_);
  committed_head_ = {tree_.size(), tree_.RootHash()};
}

void AuditTreeWriter::RolledBack() { tree_ = at_begin_; }

AuditTreeHead AuditTreeWriter::CommittedHead() const {
  absl::MutexLock lock(&head_mu_);
  return committed_head_;
}

}  // namespace hart::audit
