// EnvelopeStore::ApplyWrites: seals each write of the writer queue's batch,
// as the single-purpose calls do, and hands the backend one batch.
#include <optional>

#include "broker/store/envelope/envelope_store.h"

namespace hart::envelope {

absl::StatusOr<std::vector<absl::StatusOr<WriteResult>>> EnvelopeStore::ApplyWrites(
    std::span<WriteRequest> batch) {
  // Per item: the error that kept it from the backend, if any, and the
  // plain data key of a new referral (cached once it is stored). Items are
  // sealed in place: the batch is handed over (WriteStore::ApplyWrites).
  std::vector<absl::Status> refused(batch.size());
  std::vector<std::string> plain_keys(batch.size());
  size_t refused_count = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    WriteRequest& request = batch[i];
    if (auto* referral = std::get_if<NewReferral>(&request)) {
      auto sealed_ahead = SealedAhead(*referral);
      if (!sealed_ahead.ok()) {
        refused[i] = sealed_ahead.status();
      } else if (!*sealed_ahead) {
        auto key = SealNewReferral(*referral);
        if (key.ok()) plain_keys[i] = *std::move(key);
        refused[i] = key.status();
      }
    } else if (auto* change = std::get_if<ReferralChange>(&request)) {
      refused[i] = SealChange(*change);
    } else if (auto* ack = std::get_if<AckWrite>(&request)) {
      refused[i] = SealAck(*ack);
    }
    if (!refused[i].ok()) ++refused_count;
  }
  std::vector<WriteRequest> accepted;  // only when an item was refused
  std::span<WriteRequest> sealed = batch;
  if (refused_count > 0) {
    accepted.reserve(batch.size() - refused_count);
    for (size_t i = 0; i < batch.size(); ++i) {
      if (refused[i].ok()) accepted.push_back(std::move(batch[i]));
    }
    sealed = accepted;
  }
  auto stored = backend_.ApplyWrites(sealed);
  if (!stored.ok()) return stored.status();
  if (stored->size() != sealed.size()) {
    return absl::InternalError("the backend answered a write batch with the wrong count");
  }
  std::vector<absl::StatusOr<WriteResult>> results;
  results.reserve(batch.size());
  size_t next = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!refused[i].ok()) {
      results.push_back(refused[i]);
      continue;
    }
    absl::StatusOr<WriteResult>& result = (*stored)[next++];
    if (result.ok()) {
      const auto* created = std::get_if<CreateReferralResult>(&*result);
      // (A referral sealed ahead cached its key then: plain_keys[i] is empty.)
      if (created != nullptr && created->outcome == CreateReferralResult::Outcome::kCreated &&
          !plain_keys[i].empty()) {
        cache_.Put(created->receipt.referral_id(), std::move(plain_keys[i]));
      }
    }
    results.push_back(std::move(result));
  }
  return results;
}

absl::Status EnvelopeStore::PrepareReferral(NewReferral& referral) {
  auto sealed_ahead = SealedAhead(referral);
  if (!sealed_ahead.ok()) return sealed_ahead.status();
  if (*sealed_ahead) return absl::OkStatus();
  auto key = SealNewReferral(referral);
  if (!key.ok()) return key.status();
  cache_.Put(referral.referral.referral_id, *std::move(key));
  return absl::OkStatus();
}

absl::StatusOr<bool> EnvelopeStore::SealedAhead(const NewReferral& item) {
  const bool has_key = !item.data_key.wrapped.empty();
  const bool has_sealed_intake = !item.referral.sealed_intake.empty();
  const bool has_plaintext = item.referral.intake.ByteSizeLong() != 0;
  if (!has_key && !has_sealed_intake) return false;
  if (has_key && has_sealed_intake && !has_plaintext) return true;
  return absl::InternalError("a new referral reached the store partly sealed");
}

}  // namespace hart::envelope
