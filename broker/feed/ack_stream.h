// One open FeedService.AcknowledgeStream (made by
// FeedServiceImpl::AcknowledgeStream): every batch read is recorded as
// AcknowledgeBatch records it (AckRecorder::AcknowledgeBatchAsync, the
// same checks and audit events) and answered with its batch id, in the
// order read. Batches are recorded in the order read, one recorder call at
// a time, so a RECEIVED in one batch is applied before an ACCEPTED of the
// same delivery in a later one; the batches read while a call runs go
// together in the next (they share its commits). Up to kBatchesAhead
// batches are held at once; past that the stream stops reading until the
// oldest is answered, so a partner that sends faster than the broker
// commits is held back by gRPC's flow control, not queued in memory.
//
// Ends: OK once the partner closed its side and every batch is answered;
// UNAVAILABLE when the broker drains, after answering the batches already
// read (a batch sent but not read gets no response and is to be sent
// again); CANCELLED when the partner goes away (a group being recorded
// is still recorded, its answers dropped; batches queued behind it are
// not recorded). A group read while another was recorded is recorded from
// the store executor, not from the thread that answered the earlier one
// (the writer queue's answering thread, which every caller waits on).
//
// Lifetime: deletes itself once gRPC is done with it (OnDone) and no
// recorder call is in flight, whichever comes last.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/acks/ack_recorder.h"
#include "broker/api/authorizer.h"
#include "broker/api/identity.h"
#include "broker/common/drain_signal.h"
#include "broker/store/store_executor.h"
#include "grpcpp/support/server_callback.h"
#include "hart/referral/v1/feed.pb.h"

namespace hart::feed {

class AckStream final
    : public grpc::ServerBidiReactor<v1::AcknowledgeStreamRequest, v1::AcknowledgeStreamResponse> {
 public:
  // Batches held at once (read, not yet answered and written), at most;
  // each may hold 1,000 acks.
  static constexpr size_t kBatchesAhead = 8;

  // `acks`, `authorizer` and `executor` must outlive every recorder call
  // and executor task (a group may still be recorded after OnDone: the
  // broker's writer queue answers what it holds when it stops). The
  // caller holds an open-stream slot for `identity`; the stream gives it
  // back when done.
  AckStream(AckRecorder& acks, Authorizer& authorizer, StoreExecutor& executor,
            Identity identity);

  // Listens for the drain and reads the first batch.
  void Start();
  // The broker drains: reads nothing more, answers what it read, then ends
  // with ShuttingDown().
  void OnDrain();

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  // A batch read, in the order read, until its response is written.
  struct Batch {
    enum class State { kQueued, kRecording, kAnswered };
    v1::AcknowledgeStreamRequest request;
    v1::AcknowledgeStreamResponse response;
    State state = State::kQueued;
  };
  using Group = std::vector<Batch*>;

  void Unref();
  // The queued batches, marked recording, unless a group is recording.
  Group TakeQueuedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // One recorder call for the group's acks, in order.
  void Record(Group group);
  void OnRecorded(Group group, std::vector<absl::StatusOr<AckOutcome>> outcomes);
  // Marks the group answered and records the next one, if any.
  void Answered(Group group);
  // Writes the oldest answered batch, reads the next one when there is
  // room, finishes when nothing is left: whichever applies.
  void ProgressLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  AckRecorder& acks_;
  Authorizer& authorizer_;
  StoreExecutor& executor_;
  const Identity identity_;
  DrainSignal::Token drain_token_ = 0;
  // OnDone's reference, plus one while a group is recording.
  std::atomic<int> refs_{1};

  absl::Mutex mu_;
  v1::AcknowledgeStreamRequest reading_into_ ABSL_GUARDED_BY(mu_);
  v1::AcknowledgeStreamResponse writing_from_ ABSL_GUARDED_BY(mu_);
  std::deque<std::unique_ptr<Batch>> batches_ ABSL_GUARDED_BY(mu_);
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool recording_ ABSL_GUARDED_BY(mu_) = false;
  // The partner closed its side (or the stream broke): nothing more to read.
  bool reads_over_ ABSL_GUARDED_BY(mu_) = false;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_pending_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status pending_status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hart::feed
