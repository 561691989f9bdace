// What a storage backend implements: rows and bytes, no policy.
//
// A backend carries every role of the Store (store.h) except key rotation,
// with one difference: it never sees PII in the clear. The envelope layer
// (envelope/envelope_store.h) hands it ciphertext in the records' sealed_*
// fields and wrapped data keys; a backend stores and returns exactly those
// bytes and ignores the plaintext fields (intake, notes), which arrive
// empty. It also holds no Merkle code: audit events go through
// audit::AuditTreeWriter, to which the backend offers AuditTreeRows inside
// its write transaction. The conformance suite (tests/store/) states this
// contract as tests; every backend must pass it unchanged.
//
// Thread safety and errors: as store.h and store_errors.h.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker/ack_store.h"
#include "broker/audit_store.h"
#include "broker/feed_store.h"
#include "broker/leader_store.h"
#include "broker/ops_snapshot_store.h"
#include "broker/outbox_store.h"
#include "broker/records.h"
#include "broker/referral_store.h"
#include "broker/supervisor_queries.h"
#include "broker/timer_store.h"
#include "broker/write_store.h"

namespace hart {

// One data key moving from one wrapping to another (key rotation). Applied
// only if the key is still wrapped as `from` (not sealed, not rewrapped by
// someone else meanwhile).
struct DataKeyRewrap {
  WrappedDataKey from;
  WrappedDataKey to;
};

// Seals the intakes a store kept in the clear before encryption existed
// (a data migration); given by the envelope layer.
class LegacyIntakeSealer {
 public:
  virtual ~LegacyIntakeSealer() = default;
  // The referral's new wrapped data key and `plaintext` sealed under it.
  virtual absl::StatusOr<std::pair<WrappedDataKey, std::string>> Seal(
      const std::string& referral_id, const std::string& plaintext) = 0;
};

class StoreBackend : public ReferralStore,
                     public OutboxStore,
                     public FeedStore,
                     public AckStore,
                     public TimerStore,
                     public AuditStore,
                     public SupervisorQueries,
                     public LeaderStore,
                     public WriteStore,
                     public OpsSnapshotStore {
 public:
  ~StoreBackend() override = default;

  // The referral's data key row; NOT_FOUND if it has none. A sealed
  // referral's row has destroyed = true and no wrapped bytes.
  virtual absl::StatusOr<WrappedDataKey> ReadDataKey(const std::string& referral_id) = 0;
  // Up to `limit` live data keys not wrapped by `key_id`.
  virtual absl::StatusOr<std::vector<WrappedDataKey>> DataKeysNotWrappedBy(
      const std::string& key_id, size_t limit) = 0;
  // Applies the rewraps whose `from` still matches; returns how many did.
  virtual absl::StatusOr<size_t> ReplaceDataKeys(std::span<const DataKeyRewrap> rewraps) = 0;

  // Data migration: seals every intake stored in the clear (stores written
  // before encryption at rest). A backend that never held any does nothing.
  virtual absl::Status SealLegacyIntakes(LegacyIntakeSealer& sealer) = 0;
};

}  // namespace hart
