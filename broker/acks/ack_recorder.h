// Records partners' acknowledgements against the delivery state machine,
// with an audit event in the same transaction.
//
// Thread safety: safe to call concurrently; concurrent acks of one delivery
// are serialised by the store's compare-and-set. With a store executor,
// AcknowledgeAsync never blocks its caller: the delivery is read on the
// executor (or guessed from the deliveries this broker just wrote) and
// written by the group-commit thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/acks/ack_observer.h"
#include "broker/acks/known_deliveries.h"
#include "broker/acks/ladders.h"
#include "broker/clock.h"
#include "broker/store.h"
#include "broker/store/store_executor.h"
#include "broker/store/write_queue.h"

namespace hart {

struct AckOutcome {
  v1::DeliveryState state = v1::DELIVERY_STATE_UNSPECIFIED;
  // The audit event that recorded the ack; unset for a repeat that changed
  // nothing.
  std::optional<uint64_t> audit_index;
};

struct AckRequest {
  // The caller's agency; empty for a supervisor acknowledging on behalf.
  std::string agency_id;
  std::string delivery_id;
  v1::Acknowledgement::Kind kind = v1::Acknowledgement::KIND_UNSPECIFIED;
  std::string note;
  std::string actor;
  // For acknowledgements on behalf: why (audited as a digest).
  std::string on_behalf_reason;
};

struct AckBatch;

class AckRecorder {
 public:
  using Done = std::function<void(absl::StatusOr<AckOutcome>)>;
  // One outcome per request, in the requests' order.
  using BatchDone = std::function<void(std::vector<absl::StatusOr<AckOutcome>>)>;

  // Acknowledgements are written through `writes`, the broker's one
  // writer queue: they share group commits with every other write. With
  // NoLadders, declines start no ladder. `executor` runs the delivery
  // reads; it and every reference must outlive the recorder. `observer`
  // (may be null) hears of every ack that changed a delivery's state.
  // `known` (may be null: every delivery is read) supplies the deliveries
  // this broker just wrote, so that an ack of one is decided without a
  // read, on the calling thread.
  AckRecorder(Store& store, WriteQueue& writes, StoreExecutor& executor, const Clock& clock,
              const Ladders& ladders = NoLadders::Instance(), AckObserver* observer = nullptr,
              const KnownDeliveries* known = nullptr);

  // Records `request`. `request.agency_id` is the caller's agency:
  // PERMISSION_DENIED (and nothing changes) if the delivery belongs to
  // another agency; empty when a supervisor acknowledges on the agency's
  // behalf (`actor` says who). ACCEPTED stops the delivery's escalation
  // ladder; DECLINED starts it at once. `done` gets the delivery's state
  // afterwards, once the acknowledgement is durable: on the writer queue's
  // answering thread, on the executor for refusals (a guess never refuses),
  // or on the calling thread when the executor is full (UNAVAILABLE).
  void AcknowledgeAsync(AckRequest request, Done done);

  // Records every request as AcknowledgeAsync would: a delivery `known`
  // holds is decided from it on the calling thread (building the writes
  // there, a digest per note included), the others read together
  // (Store::GetDeliveriesByIds) in one executor task. Requests for
  // the same delivery are applied in the order given, each after the one
  // before is durable (a RECEIVED then an ACCEPTED in one batch both count)
  // and decided from the state that one left, without a read; the others
  // concurrently, sharing group commits. `done` runs once, when every
  // request has its outcome.
  void AcknowledgeBatchAsync(std::vector<AckRequest> requests, BatchDone done);

  // AcknowledgeAsync, waiting for the answer: for tools and tests only,
  // never on a thread that must not block (nor on the executor).
  absl::StatusOr<AckOutcome> Acknowledge(const std::string& agency_id,
                                         const std::string& delivery_id,
                                         v1::Acknowledgement::Kind kind, const std::string& note,
                                         const std::string& actor,
                                         const std::string& on_behalf_reason = "");

 private:
  // Reads and decides on the executor.
  void Attempt(AckRequest request, int attempt, Done done);
  void AttemptNow(AckRequest request, int attempt, Done done);
  // The kept delivery, if `known_` has it: a guess at its state.
  std::optional<DeliveryRecord> Guess(const std::string& delivery_id) const;
  // Decides `request` against `delivery` as read (or as a previous ack left
  // it, or as `guessed` from what this broker wrote) and queues the write;
  // an ack that loses the write's compare-and-set is read and decided
  // again, and so is a guessed one that would not write.
  void Decide(AckRequest request, int attempt, absl::StatusOr<DeliveryRecord> delivery,
              Done done, bool guessed = false);
  // Runs request `link` of the batch's chain `chain` (its requests for one
  // delivery) against `delivery` (read on the executor when unset), then
  // the next link once this one has its outcome.
  void RunChainLink(std::shared_ptr<AckBatch> batch, size_t chain, size_t link,
                    std::optional<absl::StatusOr<DeliveryRecord>> delivery, bool guessed);

  Store& store_;
  const Clock& clock_;
  const Ladders& ladders_;
  StoreExecutor& executor_;
  WriteQueue& writes_;
  AckObserver* const observer_;
  const KnownDeliveries* const known_;
};

}  // namespace hart
