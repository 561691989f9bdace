#include "broker/store/envelope/envelope_store.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "broker/common/logging.h"
#include "broker/common/status_macros.h"
#include "broker/crypto/aead.h"
#include "broker/store/envelope/envelope_contexts.h"

namespace hart::envelope {
namespace {

const std::shared_ptr<spdlog::logger>& StoreLog() {
  static const auto log = Logger("store");
  return log;
}

WrappedDataKey ToRow(const std::string& referral_id, const crypto::WrappedKey& key) {
  return {referral_id, key.key_id, key.wrapped, false};
}

// Seals the plaintext intakes of stores written before encryption existed.
class LegacySealer final : public LegacyIntakeSealer {
 public:
  LegacySealer(crypto::KeyRing& keys, RandomSource& nonces) : keys_(keys), nonces_(nonces) {}
  absl::StatusOr<std::pair<WrappedDataKey, std::string>> Seal(
      const std::string& referral_id, const std::string& plaintext) override {
    auto key = keys_.NewDataKey(KeyContext(referral_id));
    if (!key.ok()) return key.status();
    auto sealed = crypto::Seal(key->first, plaintext, IntakeContext(referral_id), nonces_);
    if (!sealed.ok()) return sealed.status();
    return std::make_pair(ToRow(referral_id, key->second), std::move(*sealed));
  }

 private:
  crypto::KeyRing& keys_;
  RandomSource& nonces_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<EnvelopeStore>> EnvelopeStore::Open(StoreBackend& backend,
                                                                   crypto::KeyRing& keys) {
  auto store = std::unique_ptr<EnvelopeStore>(new EnvelopeStore(backend, keys));
  LegacySealer sealer(keys, store->nonces_);
  if (auto s = backend.SealLegacyIntakes(sealer); !s.ok()) return s;
  return store;
}

absl::StatusOr<std::string> EnvelopeStore::DataKey(const std::string& referral_id,
                                                   bool* damaged) {
  if (auto cached = cache_.Find(referral_id)) return *std::move(cached);
  auto row = backend_.ReadDataKey(referral_id);
  if (!row.ok()) return row.status();
  if (row->destroyed) {
    return absl::FailedPreconditionError(absl::StrCat("referral ", referral_id, " is sealed"));
  }
  auto key = keys_.Unwrap({row->key_id, row->wrapped}, KeyContext(referral_id));
  if (!key.ok()) {
    if (damaged != nullptr) *damaged = key.status().code() == absl::StatusCode::kDataLoss;
    return key.status();
  }
  cache_.Put(referral_id, *key);
  return key;
}

absl::StatusOr<std::string> EnvelopeStore::SealWith(const std::string& key,
                                                    const std::string& plaintext,
                                                    const std::string& context) {
  return crypto::Seal(key, plaintext, context, nonces_);
}

// --- ReferralStore ---

absl::StatusOr<std::string> EnvelopeStore::SealNewReferral(NewReferral& item) {
  ReferralRecord& r = item.referral;
  auto key = keys_.NewDataKey(KeyContext(r.referral_id));
  if (!key.ok()) return key.status();
  auto bytes = SealWith(key->first, r.intake.SerializeAsString(), IntakeContext(r.referral_id));
  if (!bytes.ok()) return bytes.status();
  r.sealed_intake = std::move(*bytes);
  if (item.opened_intake == nullptr) {
    // Moved, not copied: the feeds' tail serves the plaintext from here.
    auto opened = std::make_shared<v1::Intake>();
    opened->Swap(&r.intake);
    item.opened_intake = std::move(opened);
  } else {
    r.intake.Clear();
  }
  item.data_key = ToRow(r.referral_id, key->second);
  return std::move(key->first);
}

absl::Status EnvelopeStore::SealChange(ReferralChange& change) {
  auto key = DataKey(change.referral_id);
  if (!key.ok()) return key.status();
  auto bytes = SealWith(*key, change.intake.SerializeAsString(), IntakeContext(change.referral_id));
  if (!bytes.ok()) return bytes.status();
  change.sealed_intake = std::move(*bytes);
  change.intake.Clear();
  return absl::OkStatus();
}

absl::Status EnvelopeStore::SealAck(AckWrite& write) {
  auto note = SealNote(write);
  if (!note.ok()) return note.status();
  write.sealed_note = std::move(*note);
  write.ack.clear_note();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<CreateReferralResult>> EnvelopeStore::CreateReferrals(
    std::span<const NewReferral> batch) {
  std::vector<NewReferral> sealed(batch.begin(), batch.end());
  std::vector<std::string> plain_keys;
  plain_keys.reserve(sealed.size());
  for (NewReferral& item : sealed) {
    auto sealed_ahead = SealedAhead(item);
    if (!sealed_ahead.ok()) return sealed_ahead.status();
    if (*sealed_ahead) {
      plain_keys.emplace_back();  // cached when it was sealed
      continue;
    }
    auto key = SealNewReferral(item);
    if (!key.ok()) return key.status();
    plain_keys.push_back(*std::move(key));
  }
  auto results = backend_.CreateReferrals(sealed);
  if (!results.ok()) return results.status();
  for (size_t i = 0; i < results->size() && i < sealed.size(); ++i) {
    if ((*results)[i].outcome == CreateReferralResult::Outcome::kCreated &&
        !plain_keys[i].empty()) {
      cache_.Put(sealed[i].referral.referral_id, std::move(plain_keys[i]));
    }
  }
  return results;
}

absl::Status EnvelopeStore::ApplyReferralChange(const ReferralChange& change) {
  ReferralChange sealed = change;
  if (auto s = SealChange(sealed); !s.ok()) return s;
  return backend_.ApplyReferralChange(sealed);
}

absl::StatusOr<std::optional<StoredSupplement>> EnvelopeStore::FindSupplement(
    const std::string& supplement_id) {
  return backend_.FindSupplement(supplement_id);
}

absl::StatusOr<std::vector<std::string>> EnvelopeStore::ListSupplements(
    const std::string& referral_id) {
  return backend_.ListSupplements(referral_id);
}

absl::StatusOr<std::string> EnvelopeStore::FindReferralId(const std::string& careline_report_id) {
  return backend_.FindReferralId(careline_report_id);
}

absl::StatusOr<ReferralRecord> EnvelopeStore::GetReferral(const std::string& referral_id) {
  auto r = backend_.GetReferral(referral_id);
  if (!r.ok() || r->sealed_at) return r;
  auto key = DataKey(referral_id);
  if (!key.ok()) return key.status();
  auto bytes = crypto::Open(*key, r->sealed_intake, IntakeContext(referral_id));
  if (!bytes.ok()) return bytes.status();
  if (!r->intake.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat("referral ", referral_id, ": intake does not parse"));
  }
  r->sealed_intake.clear();
  return r;
}

absl::StatusOr<SealResult> EnvelopeStore::SealReferral(const SealWrite& write) {
  auto result = backend_.SealReferral(write);
  // Forget the key even on error: a retry reads the row again.
  cache_.Forget(write.referral_id);
  return result;
}

// --- OutboxStore ---

absl::StatusOr<std::vector<DeliveryRecord>> EnvelopeStore::ClaimDueDeliveries(
    absl::Time now, absl::Time lease_until, size_t limit, std::span<const AgencyHold> holds) {
  return backend_.ClaimDueDeliveries(now, lease_until, limit, holds);
}

absl::Status EnvelopeStore::ReleaseClaims(absl::Time now) { return backend_.ReleaseClaims(now); }

absl::StatusOr<std::optional<absl::Time>> EnvelopeStore::NextDueTime(
    std::span<const AgencyHold> holds) {
  return backend_.NextDueTime(holds);
}

absl::Status EnvelopeStore::RecordOutcomes(std::span<const DeliveryOutcome> outcomes) {
  return backend_.RecordOutcomes(outcomes);
}

absl::Status EnvelopeStore::ApplyRedelivery(const RedeliveryWrite& write) {
  return backend_.ApplyRedelivery(write);
}

absl::StatusOr<DeliveryRecord> EnvelopeStore::GetDelivery(const std::string& delivery_id) {
  return backend_.GetDelivery(delivery_id);
}

std::vector<absl::StatusOr<DeliveryRecord>> EnvelopeStore::GetDeliveriesByIds(
    std::span<const std::string> delivery_ids) {
  return backend_.GetDeliveriesByIds(delivery_ids);
}

// --- FeedStore ---

absl::StatusOr<std::vector<FeedAppendResult>> EnvelopeStore::AppendToFeeds(
    std::span<const FeedAppend> appends, absl::Time now) {
  return backend_.AppendToFeeds(appends, now);
}

// Damage to this one referral (its key or intake does not open or parse)
// marks the entry unreadable: it goes out without its facts and the rest of
// the feed goes on. A store that cannot answer (or a damaged database page:
// the operator can repair it) fails the page, to be read again.
absl::Status EnvelopeStore::OpenFeedEntry(FeedEntry& e) {
  const std::string& referral_id = e.delivery.referral_id;
  bool damaged_key = false;
  auto key = DataKey(referral_id, &damaged_key);
  absl::Status damage;
  if (!key.ok()) {
    if (!damaged_key) return key.status();
    damage = key.status();
  } else if (auto bytes = crypto::Open(*key, e.sealed_intake, IntakeContext(referral_id));
             !bytes.ok()) {
    damage = bytes.status();
  } else if (!e.intake.ParseFromString(*bytes)) {
    damage = absl::DataLossError("the intake does not parse");
  }
  e.sealed_intake.clear();
  if (damage.ok()) return damage;
  StoreLog()->error("event=feed_entry_unreadable delivery_id={} referral_id={} cause='{}'",
                    e.delivery.delivery_id, referral_id, std::string(damage.message()));
  e.intake.Clear();
  e.unreadable = true;
  return absl::OkStatus();
}

absl::Status EnvelopeStore::OpenFeedEntries(std::vector<FeedEntry>& entries) {
  for (FeedEntry& e : entries) {
    if (e.sealed) continue;
    HART_RETURN_IF_ERROR(OpenFeedEntry(e));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<FeedEntry>> EnvelopeStore::ReadFeed(const std::string& agency_id,
                                                               uint64_t after_sequence,
                                                               size_t limit) {
  auto entries = backend_.ReadFeed(agency_id, after_sequence, limit);
  if (!entries.ok()) return entries;
  if (auto s = OpenFeedEntries(*entries); !s.ok()) return s;
  return entries;
}

absl::StatusOr<std::vector<FeedEntry>> EnvelopeStore::ReadUnreceivedFeed(
    const std::string& agency_id, uint64_t after_sequence, uint64_t up_to_sequence,
    size_t limit) {
  auto entries = backend_.ReadUnreceivedFeed(agency_id, after_sequence, up_to_sequence, limit);
  if (!entries.ok()) return entries;
  if (auto s = OpenFeedEntries(*entries); !s.ok()) return s;
  return entries;
}

absl::StatusOr<uint64_t> EnvelopeStore::FeedHead(const std::string& agency_id) {
  return backend_.FeedHead(agency_id);
}

// --- AckStore ---

absl::StatusOr<std::string> EnvelopeStore::SealNote(const AckWrite& write) {
  if (write.ack.note().empty()) return std::string();
  auto delivery = backend_.GetDelivery(write.delivery_id);
  // An unknown delivery fails the backend's compare-and-set (ABORTED).
  if (absl::IsNotFound(delivery.status())) return std::string();
  if (!delivery.ok()) return delivery.status();
  auto key = DataKey(delivery->referral_id);
  // A sealed referral keeps no notes: the ack is recorded without it.
  if (absl::IsFailedPrecondition(key.status())) return std::string();
  if (!key.ok()) return key.status();
  return SealWith(*key, write.ack.note(), NoteContext(write.delivery_id));
}

absl::StatusOr<uint64_t> EnvelopeStore::ApplyAck(const AckWrite& write) {
  auto results = ApplyAcks({&write, 1});
  if (!results.ok()) return results.status();
  return (*results)[0];
}

absl::StatusOr<std::vector<absl::StatusOr<uint64_t>>> EnvelopeStore::ApplyAcks(
    std::span<const AckWrite> writes) {
  std::vector<AckWrite> sealed(writes.begin(), writes.end());
  for (AckWrite& w : sealed) {
    if (auto s = SealAck(w); !s.ok()) return s;
  }
  return backend_.ApplyAcks(sealed);
}

// --- TimerStore ---

absl::StatusOr<std::vector<TimerRecord>> EnvelopeStore::ClaimDueTimers(absl::Time now,
                                                                       absl::Time lease_until,
                                                                       size_t limit) {
  return backend_.ClaimDueTimers(now, lease_until, limit);
}

absl::StatusOr<std::vector<TimerRecord>> EnvelopeStore::PendingTimers(
    const std::string& referral_id) {
  return backend_.PendingTimers(referral_id);
}

absl::StatusOr<uint64_t> EnvelopeStore::ApplyEscalationStep(const EscalationWrite& write) {
  return backend_.ApplyEscalationStep(write);
}

absl::StatusOr<std::vector<EscalationRecord>> EnvelopeStore::ReadEscalations(
    uint64_t after_sequence, size_t limit) {
  return backend_.ReadEscalations(after_sequence, limit);
}

absl::StatusOr<std::vector<EscalationRecord>> EnvelopeStore::EscalationsOf(
    const std::string& delivery_id) {
  return backend_.EscalationsOf(delivery_id);
}

// --- AuditStore ---

absl::Status EnvelopeStore::AppendAudit(std::span<const AuditEvent> events) {
  return backend_.AppendAudit(events);
}

absl::StatusOr<std::vector<AuditEvent>> EnvelopeStore::ListAuditEvents(const AuditQuery& query) {
  return backend_.ListAuditEvents(query);
}

absl::StatusOr<AuditTreeHead> EnvelopeStore::AuditHead() { return backend_.AuditHead(); }

absl::StatusOr<std::string> EnvelopeStore::AuditLeafHash(uint64_t index) {
  return backend_.AuditLeafHash(index);
}

absl::StatusOr<std::optional<std::string>> EnvelopeStore::AuditSubtreeHash(uint32_t height,
                                                                           uint64_t index) {
  return backend_.AuditSubtreeHash(height, index);
}

absl::Status EnvelopeStore::AppendCheckpoint(const v1::Checkpoint& checkpoint) {
  return backend_.AppendCheckpoint(checkpoint);
}

absl::StatusOr<std::vector<v1::Checkpoint>> EnvelopeStore::ListCheckpoints() {
  return backend_.ListCheckpoints();
}

// --- SupervisorQueries ---

absl::StatusOr<std::vector<ReferralSummaryRecord>> EnvelopeStore::ListReferrals(
    const ReferralQuery& query) {
  return backend_.ListReferrals(query);
}

absl::StatusOr<std::vector<DeliveryWithAcks>> EnvelopeStore::GetDeliveries(
    const std::string& referral_id) {
  auto items = backend_.GetDeliveries(referral_id);
  if (!items.ok()) return items;
  // Notes are sealed under the referral's key; once sealed, they are gone.
  auto key = DataKey(referral_id);
  if (!key.ok() && !absl::IsFailedPrecondition(key.status()) &&
      !absl::IsNotFound(key.status())) {
    return key.status();
  }
  for (DeliveryWithAcks& item : *items) {
    for (size_t i = 0; i < item.acks.size() && i < item.sealed_notes.size(); ++i) {
      if (item.sealed_notes[i].empty() || !key.ok()) continue;
      auto note = crypto::Open(*key, item.sealed_notes[i], NoteContext(item.delivery.delivery_id));
      if (!note.ok()) return note.status();
      item.acks[i].set_note(*note);
    }
    item.sealed_notes.clear();
  }
  return items;
}

// --- KeyStore ---

absl::StatusOr<size_t> EnvelopeStore::RewrapDataKeys() {
  size_t rewrapped = 0;
  const std::string active = keys_.active_key_id();
  for (;;) {
    // Batches keep each transaction short: the broker keeps serving.
    auto rows = backend_.DataKeysNotWrappedBy(active, 256);
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return rewrapped;
    std::vector<DataKeyRewrap> rewraps;
    rewraps.reserve(rows->size());
    for (const WrappedDataKey& row : *rows) {
      auto fresh = keys_.Rewrap({row.key_id, row.wrapped}, KeyContext(row.referral_id));
      if (!fresh.ok()) return fresh.status();
      if (fresh->key_id != active) {
        return absl::AbortedError("the active key changed during the rotation; run it again");
      }
      rewraps.push_back({row, ToRow(row.referral_id, *fresh)});
    }
    auto applied = backend_.ReplaceDataKeys(rewraps);
    if (!applied.ok()) return applied.status();
    // Nothing applied: every key changed under us (sealed or rotated by
    // another broker); stop rather than spin, a second run finishes.
    if (*applied == 0) {
      return absl::AbortedError("data keys changed during the rotation; run it again");
    }
    rewrapped += *applied;
  }
}

}  // namespace hart::envelope
