// The one writer queue: intakes, supplements and fired reroute timers,
// acknowledgements, escalation steps, feed appends and audit events of
// their own queue here, and one writer thread hands whatever queued while
// the previous batch committed to WriteStore::ApplyWrites, so one
// transaction and one fsync cover all of them. Each caller is answered only after its batch committed; an item
// refused on its own gets its own error; a failed batch answers every
// member with the error and stores nothing. Escalation steps, fired timers
// and the dispatcher's feed appends (escalation notices, retries: an
// intake places its own feed deliveries) go in the background lane
// (batch_writer.h): behind the rest, at most `max_background_batch` per
// batch. Acknowledgements linger (batch_writer.h) for up to `ack_linger`
// when nothing else is queued, so that on PostgreSQL a partner's acks do
// not each take the cluster's write lock for a transaction of their own.
//
// Callbacks run on a thread of their own ("hart-answer", batch_writer.h),
// one batch after another in submission order, while the writer already
// writes the next batch: answering a gRPC call sends its response on the
// calling thread, and that was 8 % of the writer's time in `hart-bench
// fanout` (issue 15).
//
// Thread safety: every method may be called from any thread. Callbacks must
// not block for long (never call the waiting forms from a callback: the
// answer they wait for queues behind it). The waiting forms are for
// threads allowed to wait on the store (the store executor, the timer
// runner), never for a gRPC or adapter event-loop thread.
#pragma once

#include <cstddef>
#include <functional>
#include <span>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/store/batch_writer.h"
#include "broker/store/write_queue_observer.h"
#include "broker/write_store.h"

namespace hart {

class WriteQueue {
 public:
  template <typename T>
  using Done = std::function<void(absl::StatusOr<T>)>;
  // Runs after each committed batch, in commit order, before its callbacks,
  // on the queue's answering thread: every item's request (sealed) and
  // result (an item refused on its own included).
  using AfterCommitFn = std::function<void(std::span<const WriteRequest>,
                                           std::span<const absl::StatusOr<WriteResult>>)>;
  // Background: nobody is waiting at a screen or a socket for it.
  enum class Priority { kInteractive, kBackground };
  // Background items per batch: on a store of a million referrals an
  // escalation step with its notice is ~0.25 ms of writing.
  static constexpr size_t kDefaultMaxBackgroundBatch = 8;

  // `store` must outlive the queue. Batches hold at most `max_batch` items.
  // `observer` (may be null; must outlive the queue) hears of every batch.
  WriteQueue(WriteStore& store, size_t max_batch, AfterCommitFn after_commit = {},
             WriteQueueObserver* observer = nullptr,
             size_t max_background_batch = kDefaultMaxBackgroundBatch,
             absl::Duration ack_linger = absl::ZeroDuration());
  // Answers everything queued, then stops the writer thread.
  ~WriteQueue() = default;

  void CreateReferral(NewReferral referral, Done<CreateReferralResult> done);
  // `done` gets the audit index of the ack's event.
  void ApplyAck(AckWrite ack, Done<uint64_t> done);
  // Background.
  void AppendToFeed(FeedAppend append, absl::Time at, Done<FeedAppendResult> done);
  void ApplyReferralChange(ReferralChange change, Done<ReferralChanged> done,
                           Priority priority = Priority::kInteractive);
  // `done` gets the escalation event's sequence (0 if there was none).
  // Background.
  void ApplyEscalationStep(EscalationWrite step, Done<uint64_t> done);
  void AppendAudit(std::vector<AuditEvent> events, Done<AuditAppended> done);

  // The same, waiting for the commit.
  absl::Status ApplyReferralChangeAndWait(ReferralChange change,
                                          Priority priority = Priority::kInteractive);
  absl::StatusOr<uint64_t> ApplyEscalationStepAndWait(EscalationWrite step);
  // Returns once every batch taken before the call has been through the
  // after-commit hook: for a write outside the queue (a seal) that must
  // not be overtaken by what the hook keeps of earlier commits (the feeds'
  // tail). Never from a callback or the hook.
  void AwaitAfterCommits() { writer_.AwaitAfterCommits(); }

  // Audit events of a read by a person: they join the next group commit
  // instead of taking the writer's connection for a transaction of their own.
  absl::Status AppendAuditAndWait(std::vector<AuditEvent> events);

 private:
  using Writer = BatchWriter<WriteRequest, absl::StatusOr<WriteResult>>;
  WriteStore& store_;
  Writer writer_;
};

}  // namespace hart
