// The audit log as a store holds it, ready for audit::VerifyLog: every event
// with its stored leaf hash, every checkpoint, the tree size the store
// recorded for itself, and consistency proofs built from the store's own
// leaf and subtree hashes (what a running broker serves through
// ProveConsistency). Read only through the Store interface, so it works on
// any backend.
#pragma once

#include "absl/status/statusor.h"
#include "broker/audit/log_verifier.h"
#include "broker/store.h"

namespace hart::admin {

// The public key is not filled in. `store` must outlive the result: its
// consistency proofs are read from the store when the verifier asks.
absl::StatusOr<audit::LogToVerify> ReadAuditLog(Store& store);

}  // namespace hart::admin
