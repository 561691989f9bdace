// The broker's durable state: referrals, their deliveries (the outbox), the
// agencies' feeds, acknowledgements and the audit log.
//
// Contract for every backend:
//  - Each method is one transaction: it commits (durably, fsync included)
//    before it returns OK, or it changes nothing and returns an error.
//  - Audit events passed in are written in the same transaction as the
//    change they record.
//  - Thread safety: all methods may be called concurrently from any thread.
//  - Errors: UNAVAILABLE / INTERNAL for storage failures (the caller may
//    retry), NOT_FOUND for unknown ids, ABORTED when a compare-and-set lost.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/records.h"
#include "hart/referral/v1/audit.pb.h"

namespace hart {

class Store {
 public:
  virtual ~Store() = default;

  // Stores a batch of referrals in ONE transaction (group commit). Per item:
  // a new careline_report_id is created; a known one with the same content
  // digest is kDuplicate; with a different digest, kConflict. Items are
  // applied in order, so a repeat inside the batch is seen as a duplicate.
  // On error nothing of the batch is stored.
  virtual absl::StatusOr<std::vector<CreateReferralResult>> CreateReferrals(
      std::span<const NewReferral> batch) = 0;

  // Appends audit events that accompany no other change (e.g. a rejection).
  virtual absl::Status AppendAudit(std::span<const AuditEvent> events) = 0;

  // Claims up to `limit` deliveries that are due at `now`: PENDING with
  // next_attempt_at <= now, or IN_FLIGHT, never handed off, whose lease
  // expired. Claimed ones become IN_FLIGHT with attempts+1,
  // last_attempt_at = now and lease_until = `lease_until`.
  virtual absl::StatusOr<std::vector<DeliveryRecord>> ClaimDueDeliveries(
      absl::Time now, absl::Time lease_until, size_t limit) = 0;

  // Releases every unexpired claim that was never handed off (back to
  // PENDING, due now), and every timer claim. Only for a broker that owns
  // the store exclusively, at start-up: its previous process's claims died
  // with it.
  virtual absl::Status ReleaseClaims(absl::Time now) = 0;

  // The earliest time a delivery or timer becomes claimable, if any.
  virtual absl::StatusOr<std::optional<absl::Time>> NextDueTime() = 0;

  // Records attempt outcomes (retry later, delivered, dead).
  virtual absl::Status RecordOutcomes(
      std::span<const DeliveryOutcome> outcomes) = 0;

  // Appends claimed deliveries to their agencies' feeds: each gets the next
  // per-agency sequence number, its transport_ref and lease cleared. A
  // delivery already on a feed keeps its original sequence (idempotent).
  virtual absl::StatusOr<std::vector<FeedAppendResult>> AppendToFeeds(
      std::span<const FeedAppend> appends, absl::Time now) = 0;

  // Feed events of `agency_id` with sequence > after_sequence, oldest first.
  virtual absl::StatusOr<std::vector<FeedEntry>> ReadFeed(
      const std::string& agency_id, uint64_t after_sequence, size_t limit) = 0;

  // Feed events with after_sequence < sequence <= up_to_sequence whose
  // delivery is still IN_FLIGHT (sent, never acknowledged as RECEIVED).
  virtual absl::StatusOr<std::vector<FeedEntry>> ReadUnreceivedFeed(
      const std::string& agency_id, uint64_t after_sequence,
      uint64_t up_to_sequence, size_t limit) = 0;

  // The highest sequence on the agency's feed (0 if empty).
  virtual absl::StatusOr<uint64_t> FeedHead(const std::string& agency_id) = 0;

  // Records an acknowledgement and its state change, if the delivery is
  // still in write.expected_state (ABORTED otherwise). Returns the audit
  // index of the ack's event.
  virtual absl::StatusOr<uint64_t> ApplyAck(const AckWrite& write) = 0;
  // Many acknowledgements in one transaction (group commit): each item's
  // compare-and-set is decided on its own (ABORTED for that item only);
  // an error of the whole batch means nothing of it was stored.
  virtual absl::StatusOr<std::vector<absl::StatusOr<uint64_t>>> ApplyAcks(
      std::span<const AckWrite> writes) = 0;

  // Applies a supplement or a fired timer: new facts, new deliveries,
  // replaced timers, audit. ABORTED if the referral's version moved on.
  virtual absl::Status ApplyReferralChange(const ReferralChange& change) = 0;

  // The supplement stored under `supplement_id`, if any.
  virtual absl::StatusOr<std::optional<StoredSupplement>> FindSupplement(
      const std::string& supplement_id) = 0;
  // Supplement ids of a referral, oldest first.
  virtual absl::StatusOr<std::vector<std::string>> ListSupplements(
      const std::string& referral_id) = 0;

  // The referral id for a careline_report_id; NOT_FOUND if none.
  virtual absl::StatusOr<std::string> FindReferralId(
      const std::string& careline_report_id) = 0;

  // Claims pending timers due at `now` (or whose claim expired), leasing
  // them until `lease_until`.
  virtual absl::StatusOr<std::vector<TimerRecord>> ClaimDueTimers(
      absl::Time now, absl::Time lease_until, size_t limit) = 0;
  // Pending timers of a referral, earliest first.
  virtual absl::StatusOr<std::vector<TimerRecord>> PendingTimers(
      const std::string& referral_id) = 0;

  // --- Escalation ladders ---
  // Applies a fired ladder step: the timer is marked fired (FAILED_PRECONDITION
  // if it is no longer pending: nothing is written), notices are created, the
  // escalation event gets the next global sequence, the next step's timer
  // is stored. Returns the event's sequence (0 if there was no event).
  virtual absl::StatusOr<uint64_t> ApplyEscalationStep(const EscalationWrite& write) = 0;
  // Escalation events with sequence > after_sequence, oldest first.
  virtual absl::StatusOr<std::vector<EscalationRecord>> ReadEscalations(
      uint64_t after_sequence, size_t limit) = 0;
  // Escalation events of one delivery, oldest first.
  virtual absl::StatusOr<std::vector<EscalationRecord>> EscalationsOf(
      const std::string& delivery_id) = 0;
  // Sends a DEAD or DECLINED delivery again (ABORTED if its state moved).
  virtual absl::Status ApplyRedelivery(const RedeliveryWrite& write) = 0;

  // Seals a referral: destroys its data key (its PII can no longer be
  // read, by anyone), blanks its stored intake and acknowledgement notes,
  // stops deliveries not yet handed off (SEALED) and every timer, stores
  // the erasure notices and audit. FAILED_PRECONDITION if already sealed.
  virtual absl::StatusOr<SealResult> SealReferral(const SealWrite& write) = 0;

  // Rewraps every data key not wrapped by the active key-encryption key;
  // returns how many.
  virtual absl::StatusOr<size_t> RewrapDataKeys() = 0;

  // Referral summaries matching `query`, newest first.
  virtual absl::StatusOr<std::vector<ReferralSummaryRecord>> ListReferrals(
      const ReferralQuery& query) = 0;

  virtual absl::StatusOr<ReferralRecord> GetReferral(
      const std::string& referral_id) = 0;
  virtual absl::StatusOr<std::vector<DeliveryWithAcks>> GetDeliveries(
      const std::string& referral_id) = 0;
  virtual absl::StatusOr<DeliveryRecord> GetDelivery(
      const std::string& delivery_id) = 0;

  // --- The audit log (RFC 6962 tree maintained by the store) ---
  // Every audit event a method writes becomes the next leaf in the same
  // transaction; the store keeps the tree's compact range incrementally and
  // the hash of every completed perfect subtree (for O(log^2 n) proofs).
  // Receipts get the audit index of their referral's first event
  // (intake.accepted); feed entries that of their "delivery.sent" event.

  // Events in index order matching `query`, with index and leaf hash.
  virtual absl::StatusOr<std::vector<AuditEvent>> ListAuditEvents(const AuditQuery& query) = 0;
  virtual absl::StatusOr<AuditTreeHead> AuditHead() = 0;
  virtual absl::StatusOr<std::string> AuditLeafHash(uint64_t index) = 0;
  // The stored root of the perfect subtree of 2^height leaves starting at
  // leaf index * 2^height, if that subtree is complete.
  virtual absl::StatusOr<std::optional<std::string>> AuditSubtreeHash(uint32_t height,
                                                                      uint64_t index) = 0;
  // Stores a signed checkpoint (ALREADY_EXISTS for a size already signed).
  virtual absl::Status AppendCheckpoint(const v1::Checkpoint& checkpoint) = 0;
  // Every checkpoint, by tree size.
  virtual absl::StatusOr<std::vector<v1::Checkpoint>> ListCheckpoints() = 0;
};

}  // namespace hart
