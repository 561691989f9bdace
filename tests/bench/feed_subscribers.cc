#include "tests/bench/feed_subscribers.h"

#include <cstdio>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tests/bench/latency_recorder.h"
#include "tests/bench/tls_credentials.h"

namespace hart::bench {

namespace v1 = hart::referral::v1;

// One stream's batched acks: at most one AcknowledgeBatch in flight.
struct FeedSubscribers::AckQueue {
  v1::FeedService::Stub* stub;
  std::mutex mu;
  std::vector<v1::AcknowledgeRequest> pending;
  bool in_flight = false;
};

struct FeedSubscribers::BatchCall {
  grpc::ClientContext context;
  v1::AcknowledgeBatchRequest request;
  v1::AcknowledgeBatchResponse response;
};

// One Subscribe stream; reads until cancelled, reporting each event.
class FeedSubscribers::Stream final : public grpc::ClientReadReactor<v1::FeedEvent> {
 public:
  Stream(FeedSubscribers& owner, v1::FeedService::Stub* stub) : owner_(owner), stub_(stub) {
    acks_.stub = stub;
    if (owner.options_.ack_stream) {
      ack_stream_ = std::make_unique<AckStreamSender>(
          stub, owner.options_.ack_batch,
          AckStreamSender::Callbacks{
              [&owner](const AckStreamProgress& p) { owner.OnAckStreamProgress(p); },
              [&owner](const grpc::Status& status) { owner.OnAckStreamDone(status); }});
    }
  }

  bool has_ack_stream() const { return ack_stream_ != nullptr; }

  // Opens the AcknowledgeStream (if any) first, so the first ack finds it.
  void Begin() {
    if (ack_stream_) ack_stream_->Begin();
    request_.set_resume_after(0);
    stub_->async()->Subscribe(&context_, &request_, this);
    StartRead(&event_);
    StartCall();
  }

  void Cancel() { context_.TryCancel(); }
  void FinishAcks() {
    if (ack_stream_) ack_stream_->FinishWrites();
  }
  void CancelAcks() {
    if (ack_stream_) ack_stream_->Cancel();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream ended; OnDone follows
    if (event_.has_delivery()) {
      const std::string& id = event_.delivery().delivery_id();
      owner_.tracker_.OnDeliveryEvent(id, BenchClock::now());
      {
        std::lock_guard<std::mutex> lock(owner_.mu_);
        ++owner_.stats_.delivery_events;
      }
      if (ack_stream_) {
        ack_stream_->Add(id, v1::Acknowledgement::RECEIVED);
      } else if (owner_.options_.ack_batch > 0) {
        owner_.QueueAck(acks_, id, v1::Acknowledgement::RECEIVED);
      } else {
        owner_.Acknowledge(stub_, id, v1::Acknowledgement::RECEIVED);
      }
    } else {
      std::lock_guard<std::mutex> lock(owner_.mu_);
      ++owner_.stats_.heartbeats;
    }
    StartRead(&event_);
  }

  void OnReadInitialMetadataDone(bool ok) override { owner_.OnSubscribed(ok); }
  void OnDone(const grpc::Status& status) override { owner_.OnStreamDone(status); }

 private:
  FeedSubscribers& owner_;
  v1::FeedService::Stub* stub_;
  grpc::ClientContext context_;
  v1::SubscribeRequest request_;
  v1::FeedEvent event_;
  AckQueue acks_;
  std::unique_ptr<AckStreamSender> ack_stream_;
};

struct FeedSubscribers::AckCall {
  grpc::ClientContext context;
  v1::AcknowledgeRequest request;
  v1::AcknowledgeResponse response;
};

FeedSubscribers::FeedSubscribers(Options options, DeliveryTracker& tracker)
    : options_(std::move(options)), tracker_(tracker) {}

FeedSubscribers::~FeedSubscribers() { Stop(std::chrono::seconds(10)); }

absl::Status FeedSubscribers::Start() {
  if (options_.targets.size() != options_.agency_ids.size()) {
    return absl::InvalidArgumentError(absl::StrCat("feed subscribers: ", options_.targets.size(),
                                                   " targets for ", options_.agency_ids.size(),
                                                   " agencies"));
  }
  for (size_t i = 0; i < options_.agency_ids.size(); ++i) {
    const std::string name = "agency-" + options_.agency_ids[i];
    auto credentials = ClientCredentials(options_.certs_dir, name);
    if (!credentials.ok()) return credentials.status();
    channels_.push_back(DistinctChannel(options_.targets[i], *credentials, name, 0));
    stubs_.push_back(v1::FeedService::NewStub(channels_.back()));
  }
  // Connect all in parallel; an error names the agency and its target.
  for (const auto& channel : channels_) channel->GetState(/*try_to_connect=*/true);
  const auto deadline = std::chrono::system_clock::now() + options_.connect_timeout;
  for (size_t i = 0; i < channels_.size(); ++i) {
    if (auto s = WaitForConnected({channels_[i]}, deadline,
                                  absl::StrCat("subscriber agency-", options_.agency_ids[i],
                                               " (to ", options_.targets[i], ")"));
        !s.ok()) {
      return s;
    }
  }
  for (auto& stub : stubs_) {
    streams_.push_back(std::make_unique<Stream>(*this, stub.get()));
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++open_streams_;
      ++stats_.streams;
      if (streams_.back()->has_ack_stream()) ++open_ack_streams_;
    }
    streams_.back()->Begin();
  }
  return absl::OkStatus();
}

void FeedSubscribers::Acknowledge(v1::FeedService::Stub* stub, const std::string& delivery_id,
                                  v1::Acknowledgement::Kind kind) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++acks_in_flight_;
    ++stats_.ack_calls;
  }
  auto* call = new AckCall;
  call->request.set_delivery_id(delivery_id);
  call->request.set_kind(kind);
  call->context.set_deadline(std::chrono::system_clock::now() + options_.ack_timeout);
  stub->async()->Acknowledge(
      &call->context, &call->request, &call->response,
      [this, stub, call, kind](grpc::Status status) {
        bool next = false;
        {
          std::lock_guard<std::mutex> lock(mu_);
          if (status.ok()) {
            ++stats_.acks_ok;
            // ACCEPTED follows even while stopping: Stop() waits for it.
            next = kind == v1::Acknowledgement::RECEIVED;
          } else {
            ++stats_.ack_errors;
            ++stats_.ack_errors_by_code[StatusCodeName(status.error_code())];
          }
        }
        if (next) Acknowledge(stub, call->request.delivery_id(), v1::Acknowledgement::ACCEPTED);
        delete call;
        std::lock_guard<std::mutex> lock(mu_);
        --acks_in_flight_;
        cv_.notify_all();
      });
}

// Takes up to `limit` of `pending` off its front.
static std::vector<v1::AcknowledgeRequest> TakeBatch(std::vector<v1::AcknowledgeRequest>& pending,
                                                     size_t limit) {
  if (pending.size() <= limit) return std::exchange(pending, {});
  std::vector<v1::AcknowledgeRequest> batch(std::make_move_iterator(pending.begin()),
                                            std::make_move_iterator(pending.begin() + limit));
  pending.erase(pending.begin(), pending.begin() + limit);
  return batch;
}

void FeedSubscribers::QueueAck(AckQueue& queue, const std::string& delivery_id,
                               v1::Acknowledgement::Kind kind) {
  std::vector<v1::AcknowledgeRequest> batch;
  {
    std::lock_guard<std::mutex> lock(queue.mu);
    v1::AcknowledgeRequest& ack = queue.pending.emplace_back();
    ack.set_delivery_id(delivery_id);
    ack.set_kind(kind);
    if (queue.in_flight) return;
    queue.in_flight = true;
    batch = TakeBatch(queue.pending, options_.ack_batch);
  }
  SendBatch(queue, std::move(batch));
}

void FeedSubscribers::SendBatch(AckQueue& queue, std::vector<v1::AcknowledgeRequest> acks) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++acks_in_flight_;
    ++stats_.ack_calls;
  }
  auto* call = new BatchCall;
  for (auto& ack : acks) *call->request.add_acks() = std::move(ack);
  call->context.set_deadline(std::chrono::system_clock::now() + options_.ack_timeout);
  queue.stub->async()->AcknowledgeBatch(
      &call->context, &call->request, &call->response,
      [this, &queue, call](grpc::Status status) { OnBatchDone(queue, call, status); });
}

void FeedSubscribers::OnBatchDone(AckQueue& queue, BatchCall* call, const grpc::Status& status) {
  std::vector<v1::AcknowledgeRequest> accepted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!status.ok()) {
      stats_.ack_errors += call->request.acks_size();
      stats_.ack_errors_by_code[StatusCodeName(status.error_code())] += call->request.acks_size();
    } else {
      for (int i = 0; i < call->response.results_size(); ++i) {
        const v1::AcknowledgeResult& result = call->response.results(i);
        if (result.status().code() != 0) {
          ++stats_.ack_errors;
          ++stats_.ack_errors_by_code[StatusCodeName(
              static_cast<grpc::StatusCode>(result.status().code()))];
          continue;
        }
        ++stats_.acks_ok;
        // ACCEPTED follows even while stopping: Stop() waits for it.
        if (i < call->request.acks_size() &&
            call->request.acks(i).kind() == v1::Acknowledgement::RECEIVED) {
          v1::AcknowledgeRequest& ack = accepted.emplace_back();
          ack.set_delivery_id(result.delivery_id());
          ack.set_kind(v1::Acknowledgement::ACCEPTED);
        }
      }
    }
  }
  delete call;
  std::vector<v1::AcknowledgeRequest> next;
  {
    std::lock_guard<std::mutex> lock(queue.mu);
    for (auto& ack : accepted) queue.pending.push_back(std::move(ack));
    if (queue.pending.empty()) {
      queue.in_flight = false;
    } else {
      next = TakeBatch(queue.pending, options_.ack_batch);
    }
  }
  if (!next.empty()) SendBatch(queue, std::move(next));
  std::lock_guard<std::mutex> lock(mu_);
  --acks_in_flight_;
  cv_.notify_all();
}

void FeedSubscribers::OnSubscribed(bool ok) {
  std::lock_guard<std::mutex> lock(mu_);
  ++(ok ? subscribed_ : never_subscribed_);
  cv_.notify_all();
}

absl::Status FeedSubscribers::WaitUntilSubscribed(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  const int total = static_cast<int>(streams_.size());
  const bool all_heard = cv_.wait_for(
      lock, timeout, [&] { return subscribed_ + never_subscribed_ >= total; });
  if (never_subscribed_ > 0) {
    return absl::UnavailableError(absl::StrCat(never_subscribed_, " of ", total,
                                               " feed subscriptions ended before the broker "
                                               "confirmed them"));
  }
  if (!all_heard) {
    return absl::DeadlineExceededError(absl::StrCat(
        total - subscribed_, " of ", total, " feed subscriptions not confirmed by the broker in ",
        timeout.count(), " ms"));
  }
  return absl::OkStatus();
}

void FeedSubscribers::OnStreamDone(const grpc::Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  --open_streams_;
  const bool our_cancel = stopping_ && status.error_code() == grpc::StatusCode::CANCELLED;
  if (!status.ok() && !our_cancel) {
    ++stats_.streams_failed;
    stats_.stream_errors.try_emplace(StatusCodeName(status.error_code()),
                                     status.error_message());
  }
  cv_.notify_all();
}

void FeedSubscribers::OnAckStreamProgress(const AckStreamProgress& progress) {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.ack_calls += progress.batches_sent;
  acks_in_flight_ += static_cast<int>(progress.batches_sent);
  acks_in_flight_ -= static_cast<int>(progress.batches_finished);
  stats_.acks_ok += progress.acks_ok;
  for (const auto& [code, count] : progress.acks_failed) {
    stats_.ack_errors += count;
    stats_.ack_errors_by_code[code] += count;
  }
  cv_.notify_all();
}

void FeedSubscribers::OnAckStreamDone(const grpc::Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  --open_ack_streams_;
  if (!status.ok()) {
    stats_.ack_stream_errors.try_emplace(StatusCodeName(status.error_code()),
                                         status.error_message());
  }
  cv_.notify_all();
}

void FeedSubscribers::Stop(std::chrono::milliseconds timeout) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (auto& stream : streams_) stream->Cancel();
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_until(lock, deadline, [&] { return open_streams_ == 0 && acks_in_flight_ == 0; });
  auto all_done = [&] {
    return open_streams_ == 0 && acks_in_flight_ == 0 && open_ack_streams_ == 0;
  };
  if (open_ack_streams_ > 0) {
    // No acks follow: each AcknowledgeStream closes its sending side, and
    // the broker ends it once it has answered every batch.
    lock.unlock();
    for (auto& stream : streams_) stream->FinishAcks();
    lock.lock();
    if (!cv_.wait_until(lock, deadline, all_done) && open_ack_streams_ > 0) {
      // Unanswered batches fail as CANCELLED; a cancelled stream ends at
      // once, the grace only bounds the wait should it not.
      lock.unlock();
      for (auto& stream : streams_) stream->CancelAcks();
      lock.lock();
      cv_.wait_for(lock, std::chrono::seconds(2), [&] { return open_ack_streams_ == 0; });
    }
  }
  if (!all_done()) {
    std::fprintf(stderr,
                 "hart-bench: %d subscriber streams, %d acknowledgement calls or batches and %d "
                 "AcknowledgeStreams still open after %lld ms\n",
                 open_streams_, acks_in_flight_, open_ack_streams_,
                 static_cast<long long>(timeout.count()));
    // Streams still referenced by gRPC must not be destroyed.
    for (auto& stream : streams_) stream.release();
  }
}

FeedSubscribers::Stats FeedSubscribers::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace hart::bench
