// Every part of a running broker, the composition root: BrokerServer::Start
// builds one (broker_parts.cc: the store, the writer queue, dispatch, the
// services; broker_parts_edges.cc: the push adapters and the gRPC port) and
// the running server owns it. Its members are declared in dependency order,
// so destroying it is the shutdown: the gRPC server stops first, the store
// goes last, and ShutdownStep members mark where a part must stop while
// what it uses still lives.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "adapters/common/adapter_io.h"
#include "broker/ack_endpoint/ack_http_endpoint.h"
#include "broker/acks/ack_recorder.h"
#include "broker/acks/ack_token.h"
#include "broker/acks/escalation_ladders.h"
#include "broker/acks/known_deliveries.h"
#include "broker/acks/recorder_ack_sink.h"
#include "broker/acks/redelivery.h"
#include "broker/api/audit_service.h"
#include "broker/api/authorizer.h"
#include "broker/api/escalation_watch.h"
#include "broker/api/intake_service.h"
#include "broker/api/operator_service.h"
#include "broker/api/supervisor_service.h"
#include "broker/audit/audit_log.h"
#include "broker/audit/checkpoint_signer.h"
#include "broker/clock.h"
#include "broker/common/buffered_random.h"
#include "broker/common/crypto_random.h"
#include "broker/common/ids.h"
#include "broker/common/shutdown_step.h"
#include "broker/common/thread_scheduler.h"
#include "broker/crypto/key_ring.h"
#include "broker/dashboard/dashboard.h"
#include "broker/dispatch/adapter_health_board.h"
#include "broker/dispatch/delivery_guard.h"
#include "broker/dispatch/dispatch_loop.h"
#include "broker/dispatch/dispatcher.h"
#include "broker/feed/feed_appender.h"
#include "broker/feed/feed_hub.h"
#include "broker/feed/feed_placement.h"
#include "broker/feed/feed_service.h"
#include "broker/feed/feed_tail.h"
#include "broker/feed/recent_seals.h"
#include "broker/feed/seal_begins.h"
#include "broker/intake/intake_pipeline.h"
#include "broker/intake/referral_updater.h"
#include "broker/intake/sealer.h"
#include "broker/intake/supplement_processor.h"
#include "broker/routing/geography.h"
#include "broker/routing/router.h"
#include "broker/server/broker_server.h"
#include "broker/server/in_flight_calls.h"
#include "broker/server/metrics_wiring.h"
#include "broker/server/ops_surface.h"
#include "broker/server/replica_followers.h"
#include "broker/store/store_executor.h"
#include "broker/store/write_queue.h"
#include "broker/timers/timer_runner.h"
#include "broker/views/stored_delivery_content.h"
#include "broker/views/view_builder.h"
#include "grpcpp/grpcpp.h"

namespace hart {

class BrokerParts final {
 public:
  explicit BrokerParts(BrokerServerOptions options) : options_(std::move(options)) {}

  // Builds every part and starts serving (gRPC, the operations port).
  absl::Status Init();

  int port() const { return port_; }
  int ops_port() const { return ops_->port(); }

  // "https://<ops IP>:<ops port>", where dashboard links point; empty when
  // the port is off.
  std::string OpsOrigin() const;

  // SIGTERM's first steps: readiness false, new calls refused, streams
  // ended; in-flight calls get three quarters of the drain timeout (main()
  // bounds the whole drain), then the gRPC server stops.
  void Drain();

  absl::Status ReloadKeys() { return keys_->Reload(); }

 private:
  // A seal begins here: what this broker holds of the referral's facts in
  // memory goes (feed/seal_begins.h).
  void SealBegins(const std::string& referral_id);
  // What a seal's beginning reaches: the writer queue, the feeds' tail, the
  // recent seals and the feed streams writing at that moment.
  feed::SealWatchers SealWatchers();

  // After each group commit: the feeds' tail keeps what the new intakes put
  // on feeds, the known deliveries those and their acks' states, then
  // subscribers of feeds that grew are woken, once per agency
  // per batch, and the dispatcher if new referrals added work due before its
  // planned turn (deliveries put on feeds add none, nor those of an agency
  // the dispatcher holds, until the hold ends). (Changes and escalation
  // steps wake it through their own callers.)
  void AfterCommit(std::span<const WriteRequest> requests,
                   std::span<const absl::StatusOr<WriteResult>> results);

  // Safe from any thread at any time: the writer queue and the executor
  // outlive the dispatch loop (stop_waking_ clears the target first).
  void WakeDispatcher();

  // What push adapters share: the ack token key and HTTPS ack endpoint,
  // the message source, the ack sink, the guards' watchdog scheduler.
  absl::Status StartPushSupport();
  std::string AckUrl() const;

  // The agency's adapter; push adapters come wrapped in their guard
  // (circuit breaker, concurrency limit, watchdog) and report health.
  absl::StatusOr<Adapter*> CreateAdapter(const hart::config::v1::Agency& agency);
  absl::Status StartGrpc();

  BrokerServerOptions options_;
  SystemClock clock_;
  CryptoRandom random_;
  BufferedRandom id_random_{random_, kRandomBlockBytes};  // ids only, never keys
  IdGenerator ids_{id_random_, &clock_};
  // Observed by most parts below: it outlives them.
  std::unique_ptr<metrics::BrokerMetrics> metrics_;
  std::unique_ptr<Geography> geography_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<ViewBuilder> views_;
  std::unique_ptr<crypto::KeyRing> keys_;
  std::unique_ptr<Store> opened_store_;
  std::unique_ptr<Store> wrapped_store_;  // tests only (options_.wrap_store)
  Store* store_ = nullptr;                // the one everything uses
  feed::FeedHub hub_;
  feed::FeedTail feed_tail_{clock_};
  feed::RecentSeals recent_seals_;
  std::optional<KnownDeliveries> known_deliveries_;  // what acks are first decided from
  TopicHub escalation_hub_;
  AdapterHealthBoard health_board_;
  AdapterRegistry registry_;
  absl::Mutex wake_mu_;
  DispatchLoop* wake_target_ ABSL_GUARDED_BY(wake_mu_) = nullptr;  // dispatch_loop_ while it runs
  // Runs the blocking store calls of the gRPC services, the adapters and the
  // ack recorder. It outlives the writer queue, whose callbacks may submit
  // to it (refused once it is shut down).
  std::unique_ptr<StoreExecutor> store_executor_;
  // Readiness and the operations port: readiness outlives the writer
  // queue, whose commits it watches; the port stops first (stop_ops_).
  InFlightCalls in_flight_;
  std::unique_ptr<OpsSurface> ops_;
  // Its pages are on the ops port: it outlives the port's serving.
  std::unique_ptr<dashboard::Dashboard> dashboard_;
  // What the executor's tasks and the writer queue's callbacks use.
  std::unique_ptr<EscalationLadders> ladders_;
  std::unique_ptr<ReferralUpdater> updater_;
  std::unique_ptr<AckRecorder> acks_;
  std::unique_ptr<Authorizer> authorizer_;
  std::unique_ptr<Redeliverer> redeliverer_;
  std::unique_ptr<Sealer> sealer_;
  // Shared by the supervisor service and the dashboard; the executor's
  // queued tasks may use it.
  std::unique_ptr<SupervisorOperations> supervisor_operations_;
  std::unique_ptr<SupplementProcessor> supplements_;
  std::unique_ptr<IntakePipeline> pipeline_;
  std::unique_ptr<audit::CheckpointSigner> signer_;
  std::unique_ptr<audit::AuditLog> audit_log_;
  bool leading_ = false;  // the dispatch loop's maintenance thread only
  std::unique_ptr<AckTokens> ack_tokens_;
  std::unique_ptr<StoredDeliveryContent> content_;
  std::unique_ptr<RecorderAckSink> ack_sink_;
  // The one writer queue: destroyed after the executor drained (its tasks
  // write), it commits and answers what is still queued.
  std::unique_ptr<WriteQueue> writes_;
  // What is still queued on the executor (a finished stream's last page
  // read, a shut-down adapter's message load) runs now, while what it uses
  // lives.
  ShutdownStep drain_executor_{[this] {
    if (store_executor_) store_executor_->Shutdown();
  }};
  // Adapters answer the dispatcher from their own threads: they finish (or
  // cancel) what is in flight before the dispatcher, the appender and the
  // event loop they use go.
  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<feed::FeedAppender> feed_appender_;
  std::unique_ptr<ThreadScheduler> scheduler_;
  std::unique_ptr<adapters::AdapterIo> adapter_io_;
  std::vector<std::unique_ptr<Adapter>> adapters_;
  ShutdownStep forget_adapter_health_{[this] {
    for (const auto& agency : options_.config.agencies()) health_board_.Remove(agency.id());
  }};
  std::unique_ptr<TimerRunner> timer_runner_;
  std::unique_ptr<DispatchLoop> dispatch_loop_;
  ShutdownStep stop_waking_{[this] {
    absl::MutexLock lock(&wake_mu_);
    wake_target_ = nullptr;
  }};
  // The services, then the endpoints that call them.
  std::unique_ptr<IntakeServiceImpl> intake_service_;
  std::unique_ptr<SupervisorServiceImpl> supervisor_service_;
  std::unique_ptr<AuditServiceImpl> audit_service_;
  std::unique_ptr<OperatorServiceImpl> operator_service_;
  std::unique_ptr<feed::FeedServiceImpl> feed_service_;
  std::unique_ptr<ReplicaFollowers> replica_followers_;  // postgres only
  MetricsRefresh metrics_refresher_;
  std::unique_ptr<AckHttpEndpoint> ack_endpoint_;
  std::unique_ptr<grpc::Server> server_;
  // First of all: no new calls, in-flight ones finish (bounded).
  ShutdownStep stop_grpc_{[this] {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }};
  // Before that: the operations port, readiness's ticks and health reports.
  ShutdownStep stop_ops_{[this] {
    if (ops_) ops_->Stop();
  }};
  int port_ = 0;
};

}  // namespace hart
