// Encryption at rest, above every backend: the Store the core uses, over a
// StoreBackend that only ever sees ciphertext. Each referral has its own
// AES-256-GCM data key, wrapped by the key ring's active key-encryption key;
// the intake and acknowledgement notes are sealed under it, bound to their
// row by the associated data ("intake:<referral id>", "note:<delivery id>").
// Sealing a referral destroys its wrapped key, so every copy of its
// ciphertext (WAL, backups, replicas) becomes unreadable.
//
// Thread safety: as Store. `backend` and `keys` must outlive this object.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "broker/common/buffered_random.h"
#include "broker/common/crypto_random.h"
#include "broker/crypto/key_ring.h"
#include "broker/store.h"
#include "broker/store/envelope/data_key_cache.h"
#include "broker/store/store_backend.h"

namespace hart::envelope {

class EnvelopeStore final : public Store {
 public:
  // Also seals what `backend` still holds in the clear (legacy stores).
  static absl::StatusOr<std::unique_ptr<EnvelopeStore>> Open(StoreBackend& backend,
                                                             crypto::KeyRing& keys);

  // --- ReferralStore ---
  absl::StatusOr<std::vector<CreateReferralResult>> CreateReferrals(
      std::span<const NewReferral> batch) override;
  absl::Status ApplyReferralChange(const ReferralChange& change) override;
  absl::StatusOr<std::optional<StoredSupplement>> FindSupplement(
      const std::string& supplement_id) override;
  absl::StatusOr<std::vector<std::string>> ListSupplements(
      const std::string& referral_id) override;
  absl::StatusOr<std::string> FindReferralId(const std::string& careline_report_id) override;
  absl::StatusOr<ReferralRecord> GetReferral(const std::string& referral_id) override;
  absl::StatusOr<SealResult> SealReferral(const SealWrite& write) override;
  // --- OutboxStore ---
  absl::StatusOr<std::vector<DeliveryRecord>> ClaimDueDeliveries(
      absl::Time now, absl::Time lease_until, size_t limit,
      std::span<const AgencyHold> holds) override;
  absl::Status ReleaseClaims(absl::Time now) override;
  absl::StatusOr<std::optional<absl::Time>> NextDueTime(
      std::span<const AgencyHold> holds) override;
  absl::Status RecordOutcomes(std::span<const DeliveryOutcome> outcomes) override;
  absl::Status ApplyRedelivery(const RedeliveryWrite& write) override;
  absl::StatusOr<DeliveryRecord> GetDelivery(const std::string& delivery_id) override;
  std::vector<absl::StatusOr<DeliveryRecord>> GetDeliveriesByIds(
      std::span<const std::string> delivery_ids) override;
  // --- FeedStore ---
  absl::StatusOr<std::vector<FeedAppendResult>> AppendToFeeds(
      std::span<const FeedAppend> appends, absl::Time now) override;
  absl::StatusOr<std::vector<FeedEntry>> ReadFeed(const std::string& agency_id,
                                                  uint64_t after_sequence,
                                                  size_t limit) override;
  absl::StatusOr<std::vector<FeedEntry>> ReadUnreceivedFeed(
      const std::string& agency_id, uint64_t after_sequence, uint64_t up_to_sequence,
      size_t limit) override;
  absl::StatusOr<uint64_t> FeedHead(const std::string& agency_id) override;
  // --- AckStore ---
  absl::StatusOr<uint64_t> ApplyAck(const AckWrite& write) override;
  absl::StatusOr<std::vector<absl::StatusOr<uint64_t>>> ApplyAcks(
      std::span<const AckWrite> writes) override;
  // --- TimerStore ---
  absl::StatusOr<std::vector<TimerRecord>> ClaimDueTimers(absl::Time now, absl::Time lease_until,
                                                          size_t limit) override;
  absl::StatusOr<std::vector<TimerRecord>> PendingTimers(const std::string& referral_id) override;
  absl::StatusOr<uint64_t> ApplyEscalationStep(const EscalationWrite& write) override;
  absl::StatusOr<std::vector<EscalationRecord>> ReadEscalations(uint64_t after_sequence,
                                                                size_t limit) override;
  absl::StatusOr<std::vector<EscalationRecord>> EscalationsOf(
      const std::string& delivery_id) override;
  // --- AuditStore ---
  absl::Status AppendAudit(std::span<const AuditEvent> events) override;
  absl::StatusOr<std::vector<AuditEvent>> ListAuditEvents(const AuditQuery& query) override;
  absl::StatusOr<AuditTreeHead> AuditHead() override;
  absl::StatusOr<std::string> AuditLeafHash(uint64_t index) override;
  absl::StatusOr<std::optional<std::string>> AuditSubtreeHash(uint32_t height,
                                                              uint64_t index) override;
  absl::Status AppendCheckpoint(const v1::Checkpoint& checkpoint) override;
  absl::StatusOr<std::vector<v1::Checkpoint>> ListCheckpoints() override;
  absl::StatusOr<bool> TryLead(absl::Time now, absl::Time until) override {
    return backend_.TryLead(now, until);
  }
  // --- SupervisorQueries ---
  absl::StatusOr<std::vector<ReferralSummaryRecord>> ListReferrals(
      const ReferralQuery& query) override;
  absl::StatusOr<std::vector<DeliveryWithAcks>> GetDeliveries(
      const std::string& referral_id) override;
  // envelope_reports.cc: each intake opened with the data key read with it.
  absl::StatusOr<std::vector<ReportReferral>> ReadReportPage(
      const ReportPageQuery& query) override;
  // --- OpsSnapshotStore: counts and times only, nothing to open ---
  absl::StatusOr<OpsSnapshot> ReadOpsSnapshot(absl::Time now) override {
    return backend_.ReadOpsSnapshot(now);
  }
  void StopOpsSnapshotReads() override { backend_.StopOpsSnapshotReads(); }
  // --- KeyStore ---
  absl::StatusOr<size_t> RewrapDataKeys() override;
  // --- WriteStore (envelope_writes.cc) ---
  // An item that cannot be sealed (its referral's key is missing or
  // destroyed) fails alone with that error; the backend never sees it.
  absl::StatusOr<std::vector<absl::StatusOr<WriteResult>>> ApplyWrites(
      std::span<WriteRequest> batch) override;
  // Seals the referral in advance, on the caller's thread; its plain data
  // key is cached at once (keyed by the new referral id, so harmless if the
  // write then fails or is a duplicate).
  absl::Status PrepareReferral(NewReferral& referral) override;

 private:
  EnvelopeStore(StoreBackend& backend, crypto::KeyRing& keys) : backend_(backend), keys_(keys) {}

  // The referral's data key; FAILED_PRECONDITION if sealed, NOT_FOUND if it
  // has none.
  // `damaged` (if given) is set when the stored key does not unwrap:
  // damage to this referral, not a store that cannot answer.
  absl::StatusOr<std::string> DataKey(const std::string& referral_id, bool* damaged = nullptr);
  absl::StatusOr<std::string> SealWith(const std::string& key, const std::string& plaintext,
                                       const std::string& context);
  // sealed_intake -> intake, unless sealed.
  absl::Status OpenFeedEntries(std::vector<FeedEntry>& entries);
  absl::Status OpenFeedEntry(FeedEntry& entry);
  // The ack's note sealed under its referral's key (empty if sealed).
  absl::StatusOr<std::string> SealNote(const AckWrite& write);
  // Each write's PII sealed in place (plaintext fields cleared), as the
  // backend must receive it. SealNewReferral returns the new plain data key.
  absl::StatusOr<std::string> SealNewReferral(NewReferral& item);
  // Whether PrepareReferral sealed `item` already: INTERNAL if it is only
  // partly sealed (a key without a sealed intake, or the plaintext kept).
  static absl::StatusOr<bool> SealedAhead(const NewReferral& item);
  absl::Status SealChange(ReferralChange& change);
  absl::Status SealAck(AckWrite& write);

  StoreBackend& backend_;
  crypto::KeyRing& keys_;
  CryptoRandom random_;
  // Nonces need uniqueness, not secrecy: drawn a block at a time (a
  // RAND_bytes call an intake fewer, issue 15).
  BufferedRandom nonces_{random_, kRandomBlockBytes};
  DataKeyCache cache_;
};

}  // namespace hart::envelope
