#include "broker/store/write_queue.h"

#include <chrono>
#include <memory>

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

struct Same {
  template <typename T>
  T operator()(T value) const {
    return value;
  }
};

template <typename Writer>
typename Writer::Lane LaneOf(WriteQueue::Priority priority) {
  return priority == WriteQueue::Priority::kBackground ? Writer::Lane::kBackground
                                                       : Writer::Lane::kInteractive;
}

// Queues `request`; `done` gets the item's result as `T` passed through
// `project`, or the error.
template <typename T, typename Writer, typename Out, typename Project>
void SubmitAs(Writer& writer, WriteRequest request, WriteQueue::Done<Out> done, Project project,
              typename Writer::Lane lane = Writer::Lane::kInteractive) {
  writer.Submit(
      std::move(request),
      [done = std::move(done), project](auto answer) {
        absl::StatusOr<T> value = Unwrap<T>(std::move(answer));
        if (!value.ok()) return done(value.status());
        done(project(*std::move(value)));
      },
      lane);
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

// Timed by the steady clock: nothing decides on it, and a step of the wall
// clock must not make a commit look negative or hours long.
absl::StatusOr<std::vector<absl::StatusOr<WriteResult>>> WriteObserved(
    WriteStore& store, WriteQueueObserver* observer, std::span<WriteRequest> batch) {
  if (observer == nullptr) return store.ApplyWrites(batch);
  const auto start = std::chrono::steady_clock::now();
  auto results = store.ApplyWrites(batch);
  observer->OnBatchWritten(batch.size(),
                           absl::FromChrono(std::chrono::steady_clock::now() - start),
                           results.ok());
  return results;
}

}  // namespace

WriteQueue::WriteQueue(WriteStore& store, size_t max_batch, AfterCommitFn after_commit,
                       WriteQueueObserver* observer, size_t max_background_batch,
                       absl::Duration ack_linger)
    : store_(store),
      writer_([&store, observer](std::span<WriteRequest> batch) {
                return WriteObserved(store, observer, batch);
              },
              max_batch, std::move(after_commit), max_background_batch, ack_linger) {}

void WriteQueue::CreateReferral(NewReferral referral, Done<CreateReferralResult> done) {
  // Sealed here, on the caller's thread, rather than in line on the writer's.
  // Sealing moves the plaintext to `opened_intake`.
  if (absl::Status prepared = store_.PrepareReferral(referral); !prepared.ok()) {
    return done(prepared);
  }
  // The feeds' tail serves these appends from memory after the commit; a
  // store that seals nothing left the plaintext in the record.
  if (!referral.feed_appends.empty() && referral.opened_intake == nullptr) {
    referral.opened_intake = std::make_shared<const v1::Intake>(referral.referral.intake);
  }
  SubmitAs<CreateReferralResult>(writer_, std::move(referral), std::move(done), Same{});
}

void WriteQueue::ApplyAck(AckWrite ack, Done<uint64_t> done) {
  SubmitAs<AckApplied>(
      writer_, std::move(ack), std::move(done),
      [](const AckApplied& applied) { return applied.audit_index; }, Writer::Lane::kLingering);
}

void WriteQueue::AppendToFeed(FeedAppend append, absl::Time at, Done<FeedAppendResult> done) {
  SubmitAs<FeedAppendResult>(writer_, FeedAppendWrite{std::move(append), at}, std::move(done),
                             Same{}, Writer::Lane::kBackground);
}

void WriteQueue::ApplyReferralChange(ReferralChange change, Done<ReferralChanged> done,
                                     Priority priority) {
  SubmitAs<ReferralChanged>(writer_, std::move(change), std::move(done), Same{},
                            LaneOf<Writer>(priority));
}

void WriteQueue::ApplyEscalationStep(EscalationWrite step, Done<uint64_t> done) {
  SubmitAs<EscalationApplied>(
      writer_, std::move(step), std::move(done),
      [](const EscalationApplied& applied) { return applied.sequence; },
      Writer::Lane::kBackground);
}

void WriteQueue::AppendAudit(std::vector<AuditEvent> events, Done<AuditAppended> done) {
  SubmitAs<AuditAppended>(writer_, AuditAppend{std::move(events)}, std::move(done), Same{});
}

absl::Status WriteQueue::ApplyReferralChangeAndWait(ReferralChange change, Priority priority) {
  return Wait<ReferralChanged>([&](Done<ReferralChanged> done) {
           ApplyReferralChange(std::move(change), std::move(done), priority);
         }).status();
}

absl::StatusOr<uint64_t> WriteQueue::ApplyEscalationStepAndWait(EscalationWrite step) {
  return Wait<uint64_t>(
      [&](Done<uint64_t> done) { ApplyEscalationStep(std::move(step), std::move(done)); });
}

absl::Status WriteQueue::AppendAuditAndWait(std::vector<AuditEvent> events) {
  return Wait<AuditAppended>([&](Done<AuditAppended> done) {
           AppendAudit(std::move(events), std::move(done));
         }).status();
}

}  // namespace hart
