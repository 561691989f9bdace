#include "broker/store/write_queue.h"

#include "absl/synchronization/notification.h"

namespace hart {
namespace {

// The answer to one queued request: the batch's error, the item's own
// error, or its result as `T` (the alternative that answers its request).
template <typename T>
absl::StatusOr<T> Unwrap(absl::StatusOr<absl::StatusOr<WriteResult>> answer) {
  if (!answer.ok()) return answer.status();
  if (!answer->ok()) return answer->status();
  T* value = std::get_if<T>(&**answer);
  if (value == nullptr) return absl::InternalError("a write was answered with the wrong result");
  return std::move(*value);
}

template <typename T>
absl::StatusOr<T> Wait(const std::function<void(WriteQueue::Done<T>)>& submit) {
  absl::Notification done;
  absl::StatusOr<T> result = absl::UnknownError("unanswered");
  submit([&](absl::StatusOr<T> answer) {
    result = std::move(answer);
    done.Notify();
  });
  done.WaitForNotification();
  return result;
}

}  // namespace

WriteQueue::WriteQueue(WriteStore& store, size_t max_batch, AfterCommitFn after_commit)
    : writer_([&store](std::span<const WriteRequest> batch) { return store.ApplyWrites(batch); },
              max_batch, std::move(after_commit)) {}

void WriteQueue::CreateReferral(NewReferral referral, Done<CreateReferralResult> done) {
  writer_.Submit(std::move(referral), [done = std::move(done)](auto answer) {
    done(Unwrap<CreateReferralResult>(std::move(answer)));
  });
}

void WriteQueue::ApplyAck(AckWrite ack, Done<uint64_t> done) {
  writer_.Submit(std::move(ack), [done = std::move(done)](auto answer) {
    auto applied = Unwrap<AckApplied>(std::move(answer));
    done(applied.ok() ? absl::StatusOr<uint64_t>(applied->audit_index) : applied.status());
  });
}

void WriteQueue::AppendToFeed(FeedAppend append, absl::Time at, Done<FeedAppendResult> done) {
  writer_.Submit(FeedAppendWrite{std::move(append), at}, [done = std::move(done)](auto answer) {
    done(Unwrap<FeedAppendResult>(std::move(answer)));
  });
}

void WriteQueue::ApplyReferralChange(ReferralChange change, Done<ReferralChanged> done) {
  writer_.Submit(std::move(change), [done = std::move(done)](auto answer) {
    done(Unwrap<ReferralChanged>(std::move(answer)));
  });
}

void WriteQueue::ApplyEscalationStep(EscalationWrite step, Done<uint64_t> done) {
  writer_.Submit(std::move(step), [done = std::move(done)](auto answer) {
    auto applied = Unwrap<EscalationApplied>(std::move(answer));
    done(applied.ok() ? absl::StatusOr<uint64_t>(applied->sequence) : applied.status());
  });
}

absl::Status WriteQueue::ApplyReferralChangeAndWait(ReferralChange change) {
  return Wait<ReferralChanged>([&](Done<ReferralChanged> done) {
           ApplyReferralChange(std::move(change), std::move(done));
         }).status();
}

absl::StatusOr<uint64_t> WriteQueue::ApplyEscalationStepAndWait(EscalationWrite step) {
  return Wait<uint64_t>(
      [&](Done<uint64_t> done) { ApplyEscalationStep(std::move(step), std::move(done)); });
}

}  // namespace hart
