#include "broker/api/feed_service.h"

#include <atomic>
#include <deque>

#include "absl/strings/str_cat.h"
#include "broker/api/refused_stream.h"
#include "broker/api/status_mapping.h"
#include "broker/api/unary_call.h"
#include "broker/common/logging.h"
#include "broker/common/time_util.h"
#include "broker/feed/feed_cursor.h"
#include "broker/views/delivery_message.h"

namespace hart {

// One open Subscribe stream: writes what its FeedCursor yields, one event at
// a time; at most one page of events is buffered. Pages are read on the
// store executor (never on a gRPC, hub or ticker thread) and the next write
// starts from the read's completion.
class FeedSubscription final : public grpc::ServerWriteReactor<v1::FeedEvent> {
 public:
  FeedSubscription(FeedServiceImpl& service, Identity identity, uint64_t resume_after)
      : service_(service),
        identity_(std::move(identity)),
        agency_id_(identity_.id),
        cursor_(service.store_, agency_id_, resume_after, service.options_.page_size),
        position_(cursor_.position()) {}

  void Start() {
    token_ = service_.hub_.Listen(agency_id_, [this](uint64_t) { OnFeedGrew(); });
    service_.AddSubscription(this);
    absl::MutexLock lock(&mu_);
    WriteNextLocked();
  }

  void OnFeedGrew() {
    absl::MutexLock lock(&mu_);
    ++wakes_;
    caught_up_ = false;
    WriteNextLocked();
  }

  void OnHeartbeatTick() {
    absl::MutexLock lock(&mu_);
    if (finished_ || writing_ || wrote_since_tick_) {
      wrote_since_tick_ = false;
      return;
    }
    current_.Clear();
    current_.set_sequence(position_);
    *current_.mutable_sent_at() = ToProtoTime(service_.clock_.Now());
    current_.mutable_heartbeat();
    writing_ = true;
    StartWrite(&current_);
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    wrote_since_tick_ = true;
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "stream closed"));
      return;
    }
    if (finish_pending_) {
      FinishLocked(pending_status_);
      return;
    }
    WriteNextLocked();
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the subscriber"));
  }

  void OnDone() override {
    // After these two calls no hub or ticker callback can reach this object.
    service_.hub_.Unlisten(token_);
    service_.RemoveSubscription(this);
    service_.authorizer_.CloseStream(identity_);
    Unref();  // a page read still in flight deletes it when it returns
  }

 private:
  void Unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  void FinishLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    if (writing_) {
      finish_pending_ = true;
      pending_status_ = std::move(status);
      return;
    }
    finished_ = true;
    Finish(std::move(status));
  }

  // Starts the next write, or a page read when the buffer is empty.
  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || finish_pending_ || writing_) return;
    if (buffer_.empty()) {
      if (!caught_up_) ReadPageLocked();  // caught up: wait for the hub or a heartbeat
      return;
    }
    current_ = std::move(buffer_.front());
    buffer_.pop_front();
    writing_ = true;
    StartWrite(&current_);
  }

  // One read at a time: while it runs, the cursor belongs to it.
  void ReadPageLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (reading_) return;
    reading_ = true;
    refs_.fetch_add(1, std::memory_order_relaxed);
    const uint64_t wakes = wakes_;
    absl::Status queued = service_.executor_.Submit([this, wakes] {
      auto page = cursor_.NextPage();
      OnPage(std::move(page), wakes);
    });
    if (!queued.ok()) {
      reading_ = false;
      refs_.fetch_sub(1, std::memory_order_relaxed);  // OnDone's reference remains
      FinishLocked(CannotRead(queued));
    }
  }

  void OnPage(absl::StatusOr<std::vector<feed::CursorEvent>> page, uint64_t wakes_before) {
    {
      absl::MutexLock lock(&mu_);
      reading_ = false;
      // Finished: the service may be gone; touch nothing but this object.
      if (!finished_ && !finish_pending_) {
        if (!page.ok()) {
          FinishLocked(CannotRead(page.status()));
        } else {
          position_ = cursor_.position();
          for (auto& event : *page) buffer_.push_back(ToEvent(event.entry, event.redelivery));
          // Caught up unless the hub announced more while this page was read.
          caught_up_ = page->empty() && wakes_ == wakes_before;
          WriteNextLocked();
        }
      }
    }
    Unref();
  }

  static grpc::Status CannotRead(const absl::Status& why) {
    return ToGrpcStatus(
        absl::UnavailableError(absl::StrCat("cannot read the feed: ", why.message())));
  }

  v1::FeedEvent ToEvent(const FeedEntry& entry, bool redelivery) const {
    v1::FeedEvent event;
    event.set_sequence(entry.sequence);
    *event.mutable_sent_at() = ToProtoTime(service_.clock_.Now());
    auto* delivery = event.mutable_delivery();
    *delivery = BuildDeliveryMessage(service_.views_, entry.delivery,
                                     entry.sealed ? nullptr : &entry.intake, entry.priority,
                                     entry.sealed);
    delivery->set_redelivery(redelivery);
    delivery->set_audit_index(entry.audit_index);
    return event;
  }

  FeedServiceImpl& service_;
  const Identity identity_;
  const std::string agency_id_;
  feed::FeedHub::Token token_ = 0;
  // OnDone's reference, plus one per page read in flight.
  std::atomic<int> refs_{1};
  // Used only by the page read in flight (reading_), never concurrently.
  feed::FeedCursor cursor_;

  absl::Mutex mu_;
  uint64_t position_ ABSL_GUARDED_BY(mu_);  // the cursor's, after the last read
  uint64_t wakes_ ABSL_GUARDED_BY(mu_) = 0;  // hub announcements so far
  std::deque<v1::FeedEvent> buffer_ ABSL_GUARDED_BY(mu_);
  v1::FeedEvent current_ ABSL_GUARDED_BY(mu_);  // alive until OnWriteDone
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  // The last page was empty and the hub announced nothing since.
  bool caught_up_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool wrote_since_tick_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_pending_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status pending_status_ ABSL_GUARDED_BY(mu_);
};

FeedServiceImpl::FeedServiceImpl(Store& store, StoreExecutor& executor, feed::FeedHub& hub,
                                 const ViewBuilder& views, AckRecorder& acks,
                                 Authorizer& authorizer, const Clock& clock,
                                 FeedServiceOptions options)
    : store_(store),
      executor_(executor),
      hub_(hub),
      views_(views),
      acks_(acks),
      authorizer_(authorizer),
      clock_(clock),
      options_(options),
      ticker_([this] { TickHeartbeats(); }) {}

FeedServiceImpl::~FeedServiceImpl() {
  {
    absl::MutexLock lock(&subscriptions_mu_);
    stopping_ = true;
  }
  ticker_.join();
}

void FeedServiceImpl::AddSubscription(FeedSubscription* s) {
  absl::MutexLock lock(&subscriptions_mu_);
  subscriptions_.insert(s);
}

void FeedServiceImpl::RemoveSubscription(FeedSubscription* s) {
  absl::MutexLock lock(&subscriptions_mu_);
  subscriptions_.erase(s);
}

void FeedServiceImpl::TickHeartbeats() {
  absl::MutexLock lock(&subscriptions_mu_);
  for (;;) {
    // Real time paces heartbeats: they keep connections alive through
    // proxies, which count wall-clock idleness.
    subscriptions_mu_.AwaitWithTimeout(absl::Condition(&stopping_),
                                       options_.heartbeat_interval);
    if (stopping_) return;
    for (FeedSubscription* s : subscriptions_) s->OnHeartbeatTick();
  }
}

grpc::ServerWriteReactor<v1::FeedEvent>* FeedServiceImpl::Subscribe(
    grpc::CallbackServerContext* context, const v1::SubscribeRequest* request) {
  auto decision = authorizer_.Decide(*context, "FeedService.Subscribe");
  if (!decision.identity.ok()) return RefuseStream<v1::FeedEvent>(authorizer_, std::move(decision));
  const Identity& identity = *decision.identity;
  if (auto slot = authorizer_.OpenStream(identity); !slot.ok()) {
    return new RefusedStream<v1::FeedEvent>(ToGrpcStatus(slot));
  }
  Logger("feed")->info("event=subscribe agency={} resume_after={}", identity.id,
                       request->resume_after());
  auto* subscription = new FeedSubscription(*this, identity, request->resume_after());
  subscription->Start();
  return subscription;
}

grpc::ServerUnaryReactor* FeedServiceImpl::Acknowledge(
    grpc::CallbackServerContext* context, const v1::AcknowledgeRequest* request,
    v1::AcknowledgeResponse* response) {
  return AnswerLater(
      authorizer_, context, "FeedService.Acknowledge",
      [this, request, response](const Identity& identity, grpc::ServerUnaryReactor* reactor) {
        AckRequest ack{identity.id, request->delivery_id(), request->kind(), request->note(),
                       identity.ToString(), ""};
        // The recorder reads on the store executor and answers once durable.
        acks_.AcknowledgeAsync(
            std::move(ack), [this, reactor, response, actor = identity.ToString(),
                             delivery_id = request->delivery_id()](
                                absl::StatusOr<AckOutcome> outcome) {
              if (absl::IsPermissionDenied(outcome.status())) {
                // Decided on the executor: this thread may write the audit log.
                authorizer_.RecordDenial(actor, "FeedService.Acknowledge", "", delivery_id);
              }
              if (outcome.ok()) {
                response->set_state(outcome->state);
                if (outcome->audit_index) response->set_audit_index(*outcome->audit_index);
              }
              reactor->Finish(ToGrpcStatus(outcome.status()));
            });
      });
}

}  // namespace hart
