// One open FeedService.Subscribe stream (made by FeedServiceImpl::Subscribe):
// writes what its FeedCursor yields, one event at a time; at most one page
// of events is buffered, and none of it is sent once a seal of its
// referral began after it was read (recent_seals.h); the event already
// handed to gRPC, which may wait in gRPC's buffers while a slow partner
// does not read, ends the stream instead (CancelIfSendingSealedFacts). Pages are read on the
// store executor (never on a gRPC, hub or ticker thread) and the next write
// starts from the read's completion; a page the feeds' tail holds (memory
// only) is taken on the thread that asked. Woken by the FeedHub when its agency's feed grows; sent a
// heartbeat by the service's ticker when idle.
//
// Lifetime: deletes itself once gRPC is done with it (OnDone) and no page
// read is in flight, whichever comes last.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/api/identity.h"
#include "broker/common/drain_signal.h"
#include "broker/feed/feed_cursor.h"
#include "broker/feed/feed_hub.h"
#include "grpcpp/support/server_callback.h"
#include "hart/referral/v1/feed.pb.h"

namespace hart::feed {

class FeedServiceImpl;

class FeedSubscription final : public grpc::ServerWriteReactor<v1::FeedEvent> {
 public:
  // `service` must outlive the stream (until OnDone); `context` is the
  // call's, alive until OnDone.
  FeedSubscription(FeedServiceImpl& service, grpc::CallbackServerContext* context,
                   Identity identity, uint64_t resume_after);

  // Sends the response headers, listens to the hub, joins the heartbeat
  // ticker and starts the first read.
  void Start();
  // The subscribing agency.
  const std::string& agency_id() const { return agency_id_; }
  // The hub: the agency's feed grew to `head`.
  void OnFeedGrew(uint64_t head);
  // The ticker: writes a heartbeat unless something was written since the
  // last tick (or a write is in progress).
  void OnHeartbeatTick();
  // The broker drains: ends the stream with ShuttingDown() (after the write
  // in progress); the subscriber resumes on another replica.
  void OnDrain();
  // A seal began (noted in the service's RecentSeals): when the write in
  // progress carries facts of a referral sealed since its page was read,
  // cancels the call, which drops what gRPC has not sent yet (a write is
  // in progress until flow control lets all of it out; the partner sees
  // CANCELLED and subscribes again). What was sent before cannot be
  // recalled. Whether it cancelled.
  bool CancelIfSendingSealedFacts();

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  void Unref();
  void FinishLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts the next write, or a page read when the buffer is empty.
  // `from_hub`: called from the hub's wake-up (OnFeedGrew).
  void WriteNextLocked(bool from_hub = false) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // One read at a time: while it runs, the cursor belongs to it.
  void ReadPageLocked(bool from_hub) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnPage(absl::StatusOr<std::vector<CursorEvent>> page, uint64_t wakes_before);
  // Queues a page's events to write, from the store or the tail.
  void TakePageLocked(std::vector<CursorEvent> page, uint64_t wakes_before)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static grpc::Status CannotRead(const absl::Status& why);
  v1::FeedEvent ToEvent(const CursorEvent& event) const;

  FeedServiceImpl& service_;
  grpc::CallbackServerContext* const context_;
  const Identity identity_;
  const std::string agency_id_;
  FeedHub::Token token_ = 0;
  DrainSignal::Token drain_token_ = 0;
  // OnDone's reference, plus one per page read in flight.
  std::atomic<int> refs_{1};
  // Used only by the page read in flight (reading_), never concurrently.
  FeedCursor cursor_;

  absl::Mutex mu_;
  uint64_t position_ ABSL_GUARDED_BY(mu_);  // the cursor's, after the last read
  uint64_t wakes_ ABSL_GUARDED_BY(mu_) = 0;  // hub announcements so far
  // The highest sequence the hub announced (0: none yet).
  uint64_t announced_head_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<v1::FeedEvent> buffer_ ABSL_GUARDED_BY(mu_);
  // RecentSeals' read floor before the read in flight, and before the read
  // that filled buffer_.
  uint64_t read_generation_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t buffer_generation_ ABSL_GUARDED_BY(mu_) = 0;
  v1::FeedEvent current_ ABSL_GUARDED_BY(mu_);  // alive until OnWriteDone
  // buffer_generation_ of the page current_ came from.
  uint64_t current_generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  // Nothing more to read until the hub announces it: the last page was
  // empty or reached the highest announced head, and nothing was announced
  // while it was read.
  bool caught_up_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool wrote_since_tick_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_pending_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status pending_status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hart::feed
