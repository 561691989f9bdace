#include "broker/feed/feed_service.h"

#include "absl/strings/str_cat.h"

#include "broker/api/refused_stream.h"
#include "broker/api/status_mapping.h"
#include "broker/api/unary_call.h"
#include "broker/feed/ack_batch_results.h"
#include "broker/feed/ack_stream.h"
#include "broker/common/logging.h"
#include "broker/feed/feed_subscription.h"

namespace hart::feed {

FeedServiceImpl::FeedServiceImpl(Store& store, StoreExecutor& executor, FeedHub& hub,
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

std::map<std::string, size_t> FeedServiceImpl::SubscriberCounts() const {
  absl::MutexLock lock(&subscriptions_mu_);
  std::map<std::string, size_t> counts;
  for (const FeedSubscription* s : subscriptions_) ++counts[s->agency_id()];
  return counts;
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

void FeedServiceImpl::CancelWritesOfSealedFacts() {
  // Under the lock, as the ticker: OnDone cannot remove (and free) a
  // subscription meanwhile, and gRPC runs no reaction inline.
  absl::MutexLock lock(&subscriptions_mu_);
  for (FeedSubscription* s : subscriptions_) {
    if (s->CancelIfSendingSealedFacts()) {
      Logger("feed")->info("event=stream_cancelled agency={} cause=sealed_referral_in_flight",
                           s->agency_id());
    }
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
  context->AddInitialMetadata("hart-resume-after", std::to_string(request->resume_after()));
  auto* subscription =
      new FeedSubscription(*this, context, identity, request->resume_after());
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
        // The recorder reads on the store executor (or decides a write from
        // what this broker just wrote, here) and answers once durable.
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

grpc::ServerUnaryReactor* FeedServiceImpl::AcknowledgeBatch(
    grpc::CallbackServerContext* context, const v1::AcknowledgeBatchRequest* request,
    v1::AcknowledgeBatchResponse* response) {
  return AnswerLater(
      authorizer_, context, "FeedService.AcknowledgeBatch",
      [this, request, response](const Identity& identity, grpc::ServerUnaryReactor* reactor) {
        if (absl::Status size = CheckBatchSize(request->acks_size()); !size.ok()) {
          return reactor->Finish(ToGrpcStatus(size));
        }
        acks_.AcknowledgeBatchAsync(
            ToAckRequests(identity, request->acks()),
            [this, reactor, request, response, actor = identity.ToString()](
                std::vector<absl::StatusOr<AckOutcome>> outcomes) {
              const std::vector<std::string> denied =
                  AddAckResults(request->acks(), outcomes, response->mutable_results());
              if (denied.empty()) return reactor->Finish(grpc::Status::OK);
              // This may be the writer queue's answering thread: denials are audited (a store
              // write) on the executor, and the call answered after them.
              absl::Status queued = executor_.Submit([this, reactor, actor, denied] {
                for (const std::string& delivery_id : denied) {
                  authorizer_.RecordDenial(actor, "FeedService.AcknowledgeBatch", "", delivery_id);
                }
                reactor->Finish(grpc::Status::OK);
              });
              if (!queued.ok()) {
                Logger("feed")->error("event=denials_not_audited rpc=FeedService.AcknowledgeBatch "
                                      "count={} cause=executor_full",
                                      denied.size());
                MarkDenialsUnrecorded(response->mutable_results());
                reactor->Finish(grpc::Status::OK);
              }
            });
      });
}

grpc::ServerBidiReactor<v1::AcknowledgeStreamRequest, v1::AcknowledgeStreamResponse>*
FeedServiceImpl::AcknowledgeStream(grpc::CallbackServerContext* context) {
  using Stream = grpc::ServerBidiReactor<v1::AcknowledgeStreamRequest,
                                         v1::AcknowledgeStreamResponse>;
  auto decision = authorizer_.Decide(*context, "FeedService.AcknowledgeStream");
  if (!decision.identity.ok()) return RefuseByAuthorizer<Stream>(authorizer_, std::move(decision));
  const Identity& identity = *decision.identity;
  if (auto slot = authorizer_.OpenStream(identity); !slot.ok()) {
    return new Refused<Stream>(ToGrpcStatus(slot));
  }
  Logger("feed")->info("event=ack_stream_opened agency={}", identity.id);
  auto* stream = new AckStream(acks_, authorizer_, executor_, identity);
  stream->Start();
  return stream;
}

}  // namespace hart::feed
