// The audit log: an RFC 6962 Merkle tree whose leaves are the audit events.
// Every audit event a write carries becomes the next leaf in the same
// transaction (audit::AuditTreeWriter does the tree math for every backend,
// so backends produce byte-identical trees); receipts get the audit index
// of their referral's first event, feed entries that of their
// "delivery.sent" event. See store.h and store_errors.h.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker/records.h"
#include "hart/referral/v1/audit.pb.h"

namespace hart {

class AuditStore {
 public:
  virtual ~AuditStore() = default;

  // Appends audit events that accompany no other change (e.g. a rejection).
  virtual absl::Status AppendAudit(std::span<const AuditEvent> events) = 0;

  // Events in index order matching `query`, with index and leaf hash.
  virtual absl::StatusOr<std::vector<AuditEvent>> ListAuditEvents(const AuditQuery& query) = 0;
  // The head as of the last commit.
  virtual absl::StatusOr<AuditTreeHead> AuditHead() = 0;
  // NOT_FOUND past the end.
  virtual absl::StatusOr<std::string> AuditLeafHash(uint64_t index) = 0;
  // The stored root of the perfect subtree of 2^height leaves starting at
  // leaf index * 2^height, if that subtree is complete and its height is at
  // least audit::kMinStoredSubtreeHeight (smaller ones are computed from
  // their few leaves by whoever needs them: see AuditTreeWriter).
  virtual absl::StatusOr<std::optional<std::string>> AuditSubtreeHash(uint32_t height,
                                                                      uint64_t index) = 0;
  // Stores a signed checkpoint (ALREADY_EXISTS for a size already signed).
  virtual absl::Status AppendCheckpoint(const referral::v1::Checkpoint& checkpoint) = 0;
  // Every checkpoint, by tree size.
  virtual absl::StatusOr<std::vector<referral::v1::Checkpoint>> ListCheckpoints() = 0;
};

}  // namespace hart
