// One FeedService.Subscribe stream per agency, each over its own channel
// presenting agency-<id>.crt (identity is per TLS connection) to that
// agency's target. Every
// delivery event is reported to the DeliveryTracker and acknowledged with
// RECEIVED, then ACCEPTED: one Acknowledge call each (asynchronous; the
// ACCEPTED sent from the RECEIVED's completion), or with `ack_batch` set,
// AcknowledgeBatch calls of up to that many, one in flight per stream (what
// arrives meanwhile, and the ACCEPTEDs of the RECEIVEDs it confirmed, go in
// the next), or with `ack_stream` too, batches of up to that many on one
// AcknowledgeStream per subscriber (AckStreamSender).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "hart/referral/v1/feed.grpc.pb.h"
#include "tests/bench/ack_stream_sender.h"
#include "tests/bench/delivery_tracker.h"

namespace hart::bench {

class FeedSubscribers {
 public:
  struct Options {
    std::string certs_dir;
    std::vector<std::string> agency_ids;
    // The broker each agency's stream connects to, by agency_ids' index
    // (replicas sharing one database serve every agency's feed).
    std::vector<std::string> targets;
    std::chrono::milliseconds ack_timeout{10000};
    // 0: one Acknowledge call per ack; N: AcknowledgeBatch of up to N.
    size_t ack_batch = 0;
    // With ack_batch N: batches of up to N on one AcknowledgeStream each.
    bool ack_stream = false;
    std::chrono::seconds connect_timeout{30};
  };

  FeedSubscribers(Options options, DeliveryTracker& tracker);
  ~FeedSubscribers();  // Stop()

  // Connects every channel (in parallel), then opens every stream.
  absl::Status Start();
  // Waits (up to `timeout`) until the broker confirmed every stream (its
  // response headers arrived): the load may start. An error when one was
  // refused or not confirmed in time.
  absl::Status WaitUntilSubscribed(std::chrono::milliseconds timeout);
  // Cancels every stream and waits (up to `timeout`) for the streams to end
  // and for outstanding acknowledgements to finish; then closes the
  // AcknowledgeStreams and waits (within the same `timeout`) for them to end.
  void Stop(std::chrono::milliseconds timeout);

  struct Stats {
    uint64_t streams = 0;
    uint64_t streams_failed = 0;  // ended with an error other than our cancel
    uint64_t delivery_events = 0;
    uint64_t heartbeats = 0;
    uint64_t acks_ok = 0;
    uint64_t ack_errors = 0;
    // Acknowledge or AcknowledgeBatch calls made, or AcknowledgeStream batches
    uint64_t ack_calls = 0;
    std::map<std::string, uint64_t> ack_errors_by_code;
    std::map<std::string, std::string> stream_errors;  // first error per code
    std::map<std::string, std::string> ack_stream_errors;  // AcknowledgeStream's
  };
  Stats stats() const;

 private:
  class Stream;
  struct AckCall;
  struct AckQueue;
  struct BatchCall;

  void Acknowledge(referral::v1::FeedService::Stub* stub, const std::string& delivery_id,
                   referral::v1::Acknowledgement::Kind kind);
  // Adds an ack to `queue`, sending it at once when no batch is in flight.
  void QueueAck(AckQueue& queue, const std::string& delivery_id,
                referral::v1::Acknowledgement::Kind kind);
  void SendBatch(AckQueue& queue, std::vector<referral::v1::AcknowledgeRequest> acks);
  void OnBatchDone(AckQueue& queue, BatchCall* call, const grpc::Status& status);
  void OnStreamDone(const grpc::Status& status);
  void OnSubscribed(bool ok);
  void OnAckStreamProgress(const AckStreamProgress& progress);
  void OnAckStreamDone(const grpc::Status& status);

  Options options_;
  DeliveryTracker& tracker_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<referral::v1::FeedService::Stub>> stubs_;
  std::vector<std::unique_ptr<Stream>> streams_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  int open_streams_ = 0;
  int subscribed_ = 0;       // streams whose headers arrived
  int never_subscribed_ = 0;  // streams that ended before them
  int acks_in_flight_ = 0;  // calls, or AcknowledgeStream batches unanswered
  int open_ack_streams_ = 0;
  Stats stats_;
};

}  // namespace hart::bench
