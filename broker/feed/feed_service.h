// gRPC edge of FeedService (agency role): the server side of the grpc_feed
// adapter. Each Subscribe is a FeedSubscription that pages events from the
// store (bounded memory per subscriber; pages read on the store executor),
// is woken by the FeedHub when its agency's feed grows, and gets heartbeats
// from the service's shared ticker. Acknowledge, AcknowledgeBatch and each
// AcknowledgeStream (an AckStream) go to the AckRecorder.
#pragma once

#include <map>
#include <set>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "broker/acks/ack_recorder.h"
#include "broker/api/authorizer.h"
#include "broker/clock.h"
#include "broker/feed/feed_hub.h"
#include "broker/feed/feed_tail.h"
#include "broker/feed/recent_seals.h"
#include "broker/store.h"
#include "broker/store/store_executor.h"
#include "broker/views/view_builder.h"
#include "hart/referral/v1/feed.grpc.pb.h"

namespace hart::feed {

class FeedSubscription;

struct FeedServiceOptions {
  // Heartbeat on a stream idle this long. Default: 15 s.
  absl::Duration heartbeat_interval = absl::Seconds(15);
  // Events read from the store at a time. Default: 64.
  size_t page_size = 64;
  // Where caught-up subscribers find the newest events before they read
  // the store (null: always the store). Must outlive the service.
  FeedTail* tail = nullptr;
  // The seals that subscriptions holding events built earlier must heed
  // (null: none are ever made). Must outlive the service.
  RecentSeals* seals = nullptr;
};

class FeedServiceImpl final : public v1::FeedService::CallbackService {
 public:
  // Every reference must outlive the service; `executor` must also be
  // drained before `store` goes (a subscription's last page read may
  // finish after its stream).
  FeedServiceImpl(Store& store, StoreExecutor& executor, FeedHub& hub,
                  const ViewBuilder& views, AckRecorder& acks, Authorizer& authorizer,
                  const Clock& clock, FeedServiceOptions options);
  // Stops the heartbeat ticker. Shut the gRPC server down first.
  ~FeedServiceImpl() override;

  grpc::ServerWriteReactor<v1::FeedEvent>* Subscribe(
      grpc::CallbackServerContext* context, const v1::SubscribeRequest* request) override;
  grpc::ServerUnaryReactor* Acknowledge(grpc::CallbackServerContext* context,
                                        const v1::AcknowledgeRequest* request,
                                        v1::AcknowledgeResponse* response) override;
  grpc::ServerUnaryReactor* AcknowledgeBatch(grpc::CallbackServerContext* context,
                                             const v1::AcknowledgeBatchRequest* request,
                                             v1::AcknowledgeBatchResponse* response) override;
  grpc::ServerBidiReactor<v1::AcknowledgeStreamRequest, v1::AcknowledgeStreamResponse>*
  AcknowledgeStream(grpc::CallbackServerContext* context) override;

  // Open Subscribe streams by agency id (agencies with none are absent),
  // for metrics. Memory only; safe from any thread.
  std::map<std::string, size_t> SubscriberCounts() const;
  // Seals began (options.seals noted them): every stream whose write in
  // progress carries a sealed referral's facts is cancelled
  // (FeedSubscription::CancelIfSendingSealedFacts). Safe from any thread.
  void CancelWritesOfSealedFacts();

 private:
  friend class FeedSubscription;
  void AddSubscription(FeedSubscription* s);
  void RemoveSubscription(FeedSubscription* s);
  void TickHeartbeats();

  Store& store_;
  StoreExecutor& executor_;
  FeedHub& hub_;
  const ViewBuilder& views_;
  AckRecorder& acks_;
  Authorizer& authorizer_;
  const Clock& clock_;
  const FeedServiceOptions options_;

  mutable absl::Mutex subscriptions_mu_;
  std::set<FeedSubscription*> subscriptions_ ABSL_GUARDED_BY(subscriptions_mu_);
  bool stopping_ ABSL_GUARDED_BY(subscriptions_mu_) = false;
  std::thread ticker_;
};

}  // namespace hart::feed
