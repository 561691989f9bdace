// Appends audit events to the RFC 6962 tree inside a backend's write
// transaction. The tree math lives here, once, for every backend: a backend
// only offers the rows the tree needs (AuditTreeRows), so two backends given
// the same events store byte-identical leaves, subtrees and roots.
//
// Use, inside one write transaction (the caller serialises transactions):
//   writer.Begin();                       // remembers the committed state
//   writer.Append(rows, event) ...        // leaf + completed subtrees
//   writer.SaveIfGrown(rows);             // the compact range, same txn
//   commit ? writer.Committed() : writer.RolledBack();
// A backend that rolls back part of a transaction (a savepoint) takes a
// Savepoint() before the part and RollBackTo() it with the rows.
//
// Thread safety: not thread-safe; one transaction at a time (the backend's
// write lock). CommittedHead() may be called from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/audit/merkle_tree.h"
#include "broker/records.h"

namespace hart::audit {

// Subtrees lower than this are not stored: a proof computes such a node
// from at most 2^(h) <= 8 leaf hashes it reads anyway (SubtreeRoot), while
// storing every subtree wrote one row per leaf, with the leaf's own four
// rows the bulk of an intake's writes (issue 15). Stores written before
// keep their lower subtrees; they are still correct and still served.
inline constexpr uint32_t kMinStoredSubtreeHeight = 4;

// What a backend offers the tree inside its open write transaction.
class AuditTreeRows {
 public:
  virtual ~AuditTreeRows() = default;
  // Stores the event as leaf `index` (0-based) with its leaf hash.
  virtual absl::Status InsertLeaf(uint64_t index, const AuditEvent& event,
                                  const std::string& leaf_hash) = 0;
  // Stores the root of the completed perfect subtree (height >=
  // kMinStoredSubtreeHeight).
  virtual absl::Status PutSubtree(uint32_t height, uint64_t index, const std::string& hash) = 0;
  // Stores the tree's state (CompactRange::Serialize) for the next open.
  virtual absl::Status SaveTreeState(uint64_t size, const std::string& compact_range) = 0;
};

class AuditTreeWriter {
 public:
  // `committed`: the tree as stored (loaded by the backend at open).
  explicit AuditTreeWriter(CompactRange committed);

  void Begin();
  // Appends `event` as the next leaf; returns its index.
  absl::StatusOr<uint64_t> Append(AuditTreeRows& rows, const AuditEvent& event);
  // Saves the compact range if this transaction appended anything.
  absl::Status SaveIfGrown(AuditTreeRows& rows);
  // The transaction committed: its appends become the committed head.
  void Committed();
  // The transaction rolled back: back to the state at Begin().
  void RolledBack();
  // The tree inside the open transaction, to roll back to if the backend
  // rolls back to a savepoint taken at the same time.
  CompactRange Savepoint() const { return tree_; }
  void RollBackTo(CompactRange savepoint) { tree_ = std::move(savepoint); }

  // The head as of the last commit.
  AuditTreeHead CommittedHead() const;

 private:
  CompactRange tree_;
  CompactRange at_begin_;
  mutable absl::Mutex head_mu_;
  AuditTreeHead committed_head_ ABSL_GUARDED_BY(head_mu_);
};

}  // namespace hart::audit
