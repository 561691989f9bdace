#include "broker/feed/ack_stream.h"

#include <algorithm>
#include <iterator>
#include <memory>
#include <span>
#include <utility>

#include "broker/api/authorizer.h"
#include "broker/api/status_mapping.h"
#include "broker/common/logging.h"
#include "broker/feed/ack_batch_results.h"

namespace hart::feed {

namespace {
constexpr char kRpc[] = "FeedService.AcknowledgeStream";
}  // namespace

AckStream::AckStream(AckRecorder& acks, Authorizer& authorizer, StoreExecutor& executor,
                     Identity identity)
    : acks_(acks), authorizer_(authorizer), executor_(executor), identity_(std::move(identity)) {}

void AckStream::Start() {
  drain_token_ = authorizer_.drain_signal().Listen([this] { OnDrain(); });
  absl::MutexLock lock(&mu_);
  ProgressLocked();
}

void AckStream::OnDrain() {
  absl::MutexLock lock(&mu_);
  draining_ = true;
  ProgressLocked();
}

void AckStream::OnReadDone(bool ok) {
  Group group;
  {
    absl::MutexLock lock(&mu_);
    reading_ = false;
    if (!ok) {
      reads_over_ = true;
    } else if (draining_ || finished_) {
      // Read after the drain began: neither recorded nor answered, so the
      // partner sends it again to another replica.
      reading_into_.Clear();
    } else {
      auto batch = std::make_unique<Batch>();
      batch->request.Swap(&reading_into_);
      batch->response.set_batch_id(batch->request.batch_id());
      // Each batch counts as one call against the caller's rate, as an
      // AcknowledgeBatch would (the limiter is memory only). A batch
      // refused whole records nothing, so it is answered at once; its
      // response still waits for its turn. Checked before it is queued:
      // a group being answered on another thread takes what is queued.
      absl::Status refused = authorizer_.AllowAnother(identity_, kRpc);
      if (refused.ok()) refused = CheckBatchSize(batch->request.acks_size());
      if (!refused.ok()) {
        const grpc::Status status = ToGrpcStatus(refused);
        batch->response.mutable_status()->set_code(status.error_code());
        batch->response.mutable_status()->set_message(status.error_message());
        batch->state = Batch::State::kAnswered;
      }
      batches_.push_back(std::move(batch));
      group = TakeQueuedLocked();
    }
    ProgressLocked();
  }
  // Outside the lock: the recorder may answer on this thread.
  if (!group.empty()) Record(std::move(group));
}

AckStream::Group AckStream::TakeQueuedLocked() {
  Group group;
  // Once finished the partner is gone: what it sent and was not yet
  // recorded is dropped (unanswered, so it sends it again).
  if (recording_ || finished_ || finish_pending_) return group;
  for (const auto& batch : batches_) {
    if (batch->state != Batch::State::kQueued) continue;
    batch->state = Batch::State::kRecording;
    group.push_back(batch.get());
  }
  if (group.empty()) return group;
  recording_ = true;
  refs_.fetch_add(1, std::memory_order_relaxed);
  return group;
}

void AckStream::Record(Group group) {
  std::vector<AckRequest> requests;
  size_t count = 0;
  for (const Batch* batch : group) count += static_cast<size_t>(batch->request.acks_size());
  requests.reserve(count);
  for (const Batch* batch : group) {
    std::vector<AckRequest> acks = ToAckRequests(identity_, batch->request.acks());
    requests.insert(requests.end(), std::make_move_iterator(acks.begin()),
                    std::make_move_iterator(acks.end()));
  }
  acks_.AcknowledgeBatchAsync(
      std::move(requests),
      [this, group = std::move(group)](std::vector<absl::StatusOr<AckOutcome>> outcomes) mutable {
        OnRecorded(std::move(group), std::move(outcomes));
      });
}

void AckStream::OnRecorded(Group group, std::vector<absl::StatusOr<AckOutcome>> outcomes) {
  std::vector<std::string> denied;
  std::span<const absl::StatusOr<AckOutcome>> rest(outcomes);
  for (Batch* batch : group) {
    const size_t count = std::min(rest.size(), static_cast<size_t>(batch->request.acks_size()));
    std::vector<std::string> refused =
        AddAckResults(batch->request.acks(), rest.first(count), batch->response.mutable_results());
    denied.insert(denied.end(), refused.begin(), refused.end());
    rest = rest.subspan(count);
  }
  if (denied.empty()) return Answered(std::move(group));
  // This may be the writer queue's answering thread: denials are audited
  // (a store write) on the executor, and the batches answered after them.
  auto audit = std::make_shared<Group>(std::move(group));
  absl::Status queued = executor_.Submit([this, audit, denied] {
    for (const std::string& delivery_id : denied) {
      authorizer_.RecordDenial(identity_.ToString(), kRpc, "", delivery_id);
    }
    Answered(std::move(*audit));
  });
  if (!queued.ok()) {
    Logger("feed")->error("event=denials_not_audited rpc={} count={} cause=executor_full", kRpc,
                          denied.size());
    for (Batch* batch : *audit) MarkDenialsUnrecorded(batch->response.mutable_results());
    Answered(std::move(*audit));
  }
}

void AckStream::Answered(Group group) {
  Group next;
  {
    absl::MutexLock lock(&mu_);
    for (Batch* batch : group) batch->state = Batch::State::kAnswered;
    recording_ = false;
    next = TakeQueuedLocked();
    ProgressLocked();
  }
  if (!next.empty()) {
    // This may be the writer queue's answering thread: the next group's
    // acks (up to 8,000, decided here when the broker knows them) are
    // handed to the recorder from the executor.
    auto queued_group = std::make_shared<Group>(next);
    absl::Status queued = executor_.Submit([this, queued_group] { Record(*queued_group); });
    if (!queued.ok()) Record(std::move(next));
  }
  Unref();  // the answered group's reference
}

void AckStream::ProgressLocked() {
  if (finished_ || finish_pending_) return;
  if (!writing_ && !batches_.empty() && batches_.front()->state == Batch::State::kAnswered) {
    writing_from_ = std::move(batches_.front()->response);
    batches_.pop_front();
    writing_ = true;
    StartWrite(&writing_from_);
  }
  if (!reading_ && !reads_over_ && !draining_ && batches_.size() < kBatchesAhead) {
    reading_ = true;
    StartRead(&reading_into_);
  }
  if (batches_.empty() && !writing_) {
    if (reads_over_) {
      FinishLocked(grpc::Status::OK);
    } else if (draining_) {
      FinishLocked(ToGrpcStatus(ShuttingDown()));
    }
  }
}

void AckStream::OnWriteDone(bool ok) {
  absl::MutexLock lock(&mu_);
  writing_ = false;
  if (!ok) {
    reads_over_ = true;
    finish_pending_ = false;
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "stream closed"));
    return;
  }
  if (finish_pending_) {
    finish_pending_ = false;
    FinishLocked(pending_status_);
    return;
  }
  ProgressLocked();
}

void AckStream::OnCancel() {
  absl::MutexLock lock(&mu_);
  reads_over_ = true;
  FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the partner"));
}

void AckStream::OnDone() {
  // After these calls no drain callback reaches this object.
  authorizer_.drain_signal().Forget(drain_token_);
  authorizer_.CloseStream(identity_);
  Unref();  // a group still being recorded deletes it when answered
}

void AckStream::Unref() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

void AckStream::FinishLocked(grpc::Status status) {
  if (finished_) return;
  if (writing_) {
    finish_pending_ = true;
    pending_status_ = std::move(status);
    return;
  }
  finished_ = true;
  Finish(std::move(status));
}

}  // namespace hart::feed
