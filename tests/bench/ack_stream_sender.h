// One feed subscriber's FeedService.AcknowledgeStream (hart-bench fanout
// --ack_stream): its acks go out in batches of up to `max_batch`, at most
// kMaxBatchesInFlight unanswered at a time, each next batch taken from what
// is queued as soon as there is room. A RECEIVED answered OK is followed by
// its ACCEPTED in a later batch, as on the AcknowledgeBatch path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "grpcpp/grpcpp.h"
#include "hart/referral/v1/feed.grpc.pb.h"

namespace hart::bench {

// What one event on an AcknowledgeStream changed, for the owner's counters.
struct AckStreamProgress {
  uint64_t batches_sent = 0;
  uint64_t batches_finished = 0;  // answered, or failed with the stream
  uint64_t acks_ok = 0;
  std::map<std::string, uint64_t> acks_failed;  // by code
};

class AckStreamSender final
    : public grpc::ClientBidiReactor<referral::v1::AcknowledgeStreamRequest,
                                     referral::v1::AcknowledgeStreamResponse> {
 public:
  // One, as on the AcknowledgeBatch path: acks gather into the next batch
  // while one is answered (with four, batches averaged 1.3 acks and the
  // broker's CPU at fanout --rate 1000 rose by 6 %).
  static constexpr size_t kMaxBatchesInFlight = 1;

  struct Callbacks {
    // Called without the sender's lock held, possibly from several threads.
    std::function<void(const AckStreamProgress&)> on_progress;
    // The sender's last act: it may be destroyed once this is called.
    std::function<void(const grpc::Status&)> on_done;
  };

  AckStreamSender(referral::v1::FeedService::Stub* stub, size_t max_batch, Callbacks callbacks);

  // Opens the stream.
  void Begin();
  // Queues an ack, written at once when the stream has room; once the
  // stream has ended it counts as failed with the stream's code.
  void Add(const std::string& delivery_id, referral::v1::Acknowledgement::Kind kind);
  // No more acks will be added: closes the sending side once every batch
  // is answered (and the ACCEPTEDs they call for are sent and answered).
  void FinishWrites();
  void Cancel() { context_.TryCancel(); }

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  using Request = referral::v1::AcknowledgeStreamRequest;

  // An operation decided under the lock, started after releasing it.
  struct Step {
    enum Kind { kNone, kWrite, kWritesDoneAndRelease, kRelease } kind = kNone;
    const Request* request = nullptr;  // kWrite
  };
  Step NextStepLocked();
  void Continue(const Step& step, AckStreamProgress& progress);
  // Counts the response to the oldest unanswered batch.
  void AnswerLocked(AckStreamProgress& progress);

  referral::v1::FeedService::Stub* stub_;
  const size_t max_batch_;
  Callbacks callbacks_;
  grpc::ClientContext context_;
  referral::v1::AcknowledgeStreamResponse response_;

  std::mutex mu_;
  std::deque<referral::v1::AcknowledgeRequest> pending_;
  std::deque<std::shared_ptr<const Request>> unanswered_;  // in the order sent
  std::shared_ptr<const Request> writing_;                 // the one write in progress
  uint64_t next_batch_id_ = 1;
  bool held_ = true;      // the hold for writes started outside the reactions
  bool closing_ = false;  // FinishWrites was called
  bool ended_ = false;    // a read or write failed: nothing more can be sent
  bool done_ = false;     // OnDone ran
  std::string end_code_;  // set by OnDone: the code acks added later fail with
};

}  // namespace hart::bench
