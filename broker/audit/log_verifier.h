// Verifies an audit log from its events and signed checkpoints, trusting
// nothing but the public key: every entry is re-encoded and re-hashed, the
// tree is recomputed, every checkpoint's signature, order and root are
// checked, consecutive checkpoints are proven consistent, and the first
// index where anything disagrees is reported.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "hart/referral/v1/audit.pb.h"

namespace hart::audit {

struct LogToVerify {
  // The events as stored, in storage order.
  std::vector<hart::referral::v1::AuditEvent> events;
  // The checkpoints, in any order.
  std::vector<hart::referral::v1::Checkpoint> checkpoints;
  std::string public_key_pem;
  // The tree size the broker recorded for itself, when read from the store:
  // entries beyond it were not appended by the broker.
  std::optional<uint64_t> recorded_tree_size;
  // Supplies a consistency proof between two sizes (e.g. the broker's
  // ProveConsistency); empty: proofs are computed from the events.
  std::function<absl::StatusOr<std::vector<std::string>>(uint64_t, uint64_t)> prove_consistency;
};

struct VerificationReport {
  bool ok = true;
  // The first log index where the events disagree with what was signed or
  // recorded; for a root mismatch without a per-entry clue, the start of
  // the first checkpoint interval that fails.
  std::optional<uint64_t> first_bad_index;
  std::vector<std::string> problems;  // in order of discovery, no PII
  uint64_t entries_checked = 0;
  size_t checkpoints_checked = 0;
  uint64_t entries_after_last_checkpoint = 0;
};

VerificationReport VerifyLog(const LogToVerify& log);

}  // namespace hart::audit
