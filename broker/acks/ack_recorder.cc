#include "broker/acks/ack_recorder.h"

#include <future>
#include <mutex>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

#include "broker/acks/ack_policy.h"
#include "broker/common/sha256.h"
#include "broker/common/time_util.h"

namespace hart {
namespace {

std::string AckActionName(v1::Acknowledgement::Kind kind) {
  switch (kind) {
    case v1::Acknowledgement::RECEIVED: return "received";
    case v1::Acknowledgement::ACCEPTED: return "accepted";
    case v1::Acknowledgement::DECLINED: return "declined";
    default: return "unknown";
  }
}

}  // namespace

// One AcknowledgeBatchAsync call: its requests grouped by delivery into
// chains, and the outcomes gathered until the last one arrives.
struct AckBatch {
  AckBatch(std::vector<AckRequest> batch_requests, AckRecorder::BatchDone batch_done)
      : requests(std::move(batch_requests)),
        outcomes(requests.size(), absl::InternalError("not decided")),
        undecided(requests.size()),
        done(std::move(batch_done)) {
    absl::flat_hash_map<std::string_view, size_t> chain_of_delivery;
    for (size_t i = 0; i < requests.size(); ++i) {
      auto [it, added] = chain_of_delivery.try_emplace(requests[i].delivery_id, chains.size());
      if (added) chains.emplace_back();
      chains[it->second].push_back(i);
    }
  }

  // Records request `index`'s outcome; the last one answers the batch.
  void Record(size_t index, absl::StatusOr<AckOutcome> outcome) {
    bool last = false;
    {
      std::lock_guard<std::mutex> lock(mu);
      outcomes[index] = std::move(outcome);
      last = --undecided == 0;
    }
    if (last) done(std::move(outcomes));
  }

  const std::vector<AckRequest> requests;
  std::vector<std::vector<size_t>> chains;  // request indexes, one chain per delivery
  std::mutex mu;
  std::vector<absl::StatusOr<AckOutcome>> outcomes;
  size_t undecided;
  AckRecorder::BatchDone done;
};

AckRecorder::AckRecorder(Store& store, WriteQueue& writes, StoreExecutor& executor,
                         const Clock& clock, const Ladders& ladders, AckObserver* observer,
                         const KnownDeliveries* known)
    : store_(store),
      clock_(clock),
      ladders_(ladders),
      executor_(executor),
      writes_(writes),
      observer_(observer),
      known_(known) {}

std::optional<DeliveryRecord> AckRecorder::Guess(const std::string& delivery_id) const {
  if (known_ == nullptr) return std::nullopt;
  std::optional<KnownDelivery> kept = known_->Find(delivery_id);
  if (!kept.has_value()) return std::nullopt;
  // The fields an ack is decided and observed by; the rest stay unset.
  DeliveryRecord delivery;
  delivery.delivery_id = std::move(kept->delivery_id);
  delivery.referral_id = std::move(kept->referral_id);
  delivery.agency_id = std::move(kept->agency_id);
  delivery.agency_kind = kept->agency_kind;
  delivery.kind = kept->kind;
  delivery.created_at = kept->created_at;
  delivery.state = kept->state;
  return delivery;
}

absl::StatusOr<AckOutcome> AckRecorder::Acknowledge(
    const std::string& agency_id, const std::string& delivery_id,
    v1::Acknowledgement::Kind kind, const std::string& note, const std::string& actor,
    const std::string& on_behalf_reason) {
  std::promise<absl::StatusOr<AckOutcome>> promise;
  auto future = promise.get_future();
  AcknowledgeAsync({agency_id, delivery_id, kind, note, actor, on_behalf_reason},
                   [&promise](absl::StatusOr<AckOutcome> outcome) {
                     promise.set_value(std::move(outcome));
                   });
  return future.get();
}

void AckRecorder::AcknowledgeAsync(AckRequest request, Done done) {
  if (std::optional<DeliveryRecord> guess = Guess(request.delivery_id)) {
    return Decide(std::move(request), 0, *std::move(guess), std::move(done), /*guessed=*/true);
  }
  Attempt(std::move(request), 0, std::move(done));
}

void AckRecorder::AcknowledgeBatchAsync(std::vector<AckRequest> requests, BatchDone done) {
  if (requests.empty()) return done({});
  auto batch = std::make_shared<AckBatch>(std::move(requests), std::move(done));
  // A chain whose delivery this broker knows starts here, from the guess;
  // the others' first requests are read (all in one read) and decided in
  // one executor task.
  std::vector<size_t> unknown;
  for (size_t chain = 0; chain < batch->chains.size(); ++chain) {
    const AckRequest& first = batch->requests[batch->chains[chain].front()];
    if (std::optional<DeliveryRecord> guess = Guess(first.delivery_id)) {
      RunChainLink(batch, chain, 0, *std::move(guess), /*guessed=*/true);
    } else {
      unknown.push_back(chain);
    }
  }
  if (unknown.empty()) return;
  absl::Status queued = executor_.Submit([this, batch, unknown] {
    std::vector<std::string> first_ids;
    first_ids.reserve(unknown.size());
    for (size_t chain : unknown) {
      first_ids.push_back(batch->requests[batch->chains[chain].front()].delivery_id);
    }
    std::vector<absl::StatusOr<DeliveryRecord>> deliveries = store_.GetDeliveriesByIds(first_ids);
    for (size_t i = 0; i < unknown.size(); ++i) {
      RunChainLink(batch, unknown[i], 0, std::move(deliveries[i]), /*guessed=*/false);
    }
  });
  if (!queued.ok()) {
    for (size_t chain : unknown) {
      for (size_t index : batch->chains[chain]) batch->Record(index, queued);
    }
  }
}

void AckRecorder::RunChainLink(std::shared_ptr<AckBatch> batch, size_t chain, size_t link,
                               std::optional<absl::StatusOr<DeliveryRecord>> delivery,
                               bool guessed) {
  const size_t index = batch->chains[chain][link];
  // What this link leaves the delivery as, if it is answered: the next link
  // is decided from it without reading the delivery again. Should the
  // delivery change meanwhile, the next link's compare-and-set fails and it
  // is read and decided again.
  const bool more = link + 1 < batch->chains[chain].size();
  std::optional<DeliveryRecord> known;  // copied only for a link that follows
  if (more && delivery.has_value() && delivery->ok()) known = **delivery;
  Done after = [this, batch, chain, link, index, more,
                known = std::move(known)](absl::StatusOr<AckOutcome> outcome) mutable {
    std::optional<absl::StatusOr<DeliveryRecord>> next;
    if (more && outcome.ok() && known.has_value()) {
      known->state = outcome->state;
      next = *std::move(known);
    }
    batch->Record(index, std::move(outcome));
    if (more) RunChainLink(batch, chain, link + 1, std::move(next), /*guessed=*/false);
  };
  if (delivery.has_value()) {
    Decide(batch->requests[index], 0, *std::move(delivery), std::move(after), guessed);
  } else {
    Attempt(batch->requests[index], 0, std::move(after));
  }
}

void AckRecorder::Attempt(AckRequest request, int attempt, Done done) {
  // The task holds copies: a refused one is dropped, and `done` answers.
  absl::Status queued = executor_.Submit(
      [this, request, attempt, done] { AttemptNow(request, attempt, done); });
  if (!queued.ok()) done(std::move(queued));
}

void AckRecorder::AttemptNow(AckRequest request, int attempt, Done done) {
  // A concurrent ack of the same delivery makes the compare-and-set lose;
  // re-read and re-decide a few times.
  if (attempt >= 5) {
    done(absl::AbortedError("the delivery kept changing concurrently; retry the ack"));
    return;
  }
  absl::StatusOr<DeliveryRecord> delivery = store_.GetDelivery(request.delivery_id);
  Decide(std::move(request), attempt, std::move(delivery), std::move(done));
}

void AckRecorder::Decide(AckRequest request, int attempt, absl::StatusOr<DeliveryRecord> delivery,
                         Done done, bool guessed) {
  if (!delivery.ok()) return done(delivery.status());
  const bool addressed = request.agency_id.empty() || delivery->agency_id == request.agency_id;
  auto transition = NextStateForAck(delivery->state, request.kind, request.note);
  // Only a write's compare-and-set checks a guess: any other answer is
  // given from the store's delivery.
  if (guessed && !(addressed && transition.ok() && transition->changes_state)) {
    return Attempt(std::move(request), attempt, std::move(done));
  }
  if (!addressed) {
    return done(absl::PermissionDeniedError(absl::StrCat(
        "delivery ", request.delivery_id, " is not addressed to agency ", request.agency_id)));
  }
  if (!transition.ok()) return done(transition.status());
  if (!transition->changes_state) return done(AckOutcome{transition->new_state, std::nullopt});
  const absl::Time now = clock_.Now();
  AckWrite write;
  write.delivery_id = request.delivery_id;
  write.expected_state = delivery->state;
  write.new_state = transition->new_state;
  write.ack.set_kind(request.kind);
  write.ack.set_note(request.note);
  write.ack.set_actor(request.actor);
  *write.ack.mutable_recorded_at() = ToProtoTime(now);
  // The note is the partner's free text: only its digest is audited.
  write.audit = {now, request.actor,
                 absl::StrCat("delivery.ack.", AckActionName(request.kind)),
                 delivery->referral_id, request.delivery_id,
                 request.note.empty() ? std::string() : Sha256(request.note),
                 absl::StrCat("from=", v1::DeliveryState_Name(delivery->state),
                              " to=", v1::DeliveryState_Name(transition->new_state))};
  if (!request.on_behalf_reason.empty()) {
    // Free text: only its digest is recorded.
    absl::StrAppend(&write.audit.detail, " on_behalf_of=", delivery->agency_id,
                    " reason_sha256=", HexEncode(Sha256(request.on_behalf_reason)));
  }
  write.stop_ladder = transition->new_state == v1::ACKNOWLEDGED;
  if (transition->new_state == v1::DECLINED) {
    write.ladder = ladders_.TriggerNow(delivery->agency_kind, now, v1::DECLINED_BY_AGENCY);
  }
  const v1::DeliveryState new_state = transition->new_state;
  writes_.ApplyAck(std::move(write), [this, request = std::move(request), attempt, new_state,
                                      delivery = *std::move(delivery), now,
                                      done = std::move(done)](
                                         absl::StatusOr<uint64_t> audit_index) mutable {
    if (audit_index.ok()) {
      if (observer_ != nullptr) observer_->OnAcknowledged(delivery, request.kind, now);
      return done(AckOutcome{new_state, *audit_index});
    }
    if (!absl::IsAborted(audit_index.status())) return done(audit_index.status());
    Attempt(std::move(request), attempt + 1, std::move(done));  // lost the race: re-decide
  });
}

}  // namespace hart
