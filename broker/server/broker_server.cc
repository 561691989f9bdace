#include "broker/server/broker_server.h"

#include <algorithm>
#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "adapters/builtin.h"
#include "adapters/common/adapter_io.h"
#include "broker/ack_endpoint/ack_http_endpoint.h"
#include "broker/acks/ack_recorder.h"
#include "broker/acks/ack_token.h"
#include "broker/acks/known_deliveries.h"
#include "broker/acks/recorder_ack_sink.h"
#include "broker/common/thread_scheduler.h"
#include "broker/config/postgres_options.h"
#include "broker/dispatch/adapter_health_board.h"
#include "broker/dispatch/delivery_guard.h"
#include "broker/feed/feed_appender.h"
#include "broker/feed/feed_hub.h"
#include "broker/feed/feed_placement.h"
#include "broker/feed/feed_service.h"
#include "broker/feed/feed_tail.h"
#include "broker/feed/recent_seals.h"
#include "broker/server/adapter_paths.h"
#include "broker/server/metrics_wiring.h"
#include "broker/server/grpc_listener.h"
#include "broker/server/in_flight_calls.h"
#include "broker/server/ops_surface.h"
#include "broker/server/replica_followers.h"
#include "broker/views/stored_delivery_content.h"
#include "broker/acks/escalation_ladders.h"
#include "broker/acks/redelivery.h"
#include "broker/api/audit_service.h"
#include "broker/api/escalation_watch.h"
#include "broker/api/authorizer.h"
#include "broker/audit/audit_log.h"
#include "broker/audit/checkpoint_signer.h"
#include "broker/api/intake_service.h"
#include "broker/api/operator_service.h"
#include "broker/crypto/key_ring.h"
#include "broker/intake/sealer.h"
#include "broker/api/supervisor_service.h"
#include "broker/clock.h"
#include "broker/common/buffered_random.h"
#include "broker/common/crypto_random.h"
#include "broker/common/listen_address.h"
#include "broker/dashboard/dashboard.h"
#include "broker/common/ids.h"
#include "broker/common/logging.h"
#include "broker/common/shutdown_step.h"
#include "broker/common/time_util.h"
#include "broker/dispatch/dispatch_loop.h"
#include "broker/dispatch/dispatcher.h"
#include "broker/intake/intake_pipeline.h"
#include "broker/intake/referral_updater.h"
#include "broker/intake/supplement_processor.h"
#include "broker/timers/timer_runner.h"
#include "broker/routing/geography.h"
#include "broker/routing/router.h"
#include "broker/store/write_queue.h"
#include "broker/store/store_factory.h"
#include "broker/store/store_executor.h"
#include "broker/views/view_builder.h"
#include "grpcpp/grpcpp.h"

namespace hart {
namespace {

// How long a leader's lease lasts without renewal. The dispatch loop's
// maintenance renews it about every second (at most two apart: its
// interval, then a turn that may wait up to a second); a leader that stops
// (killed, paused, cut off) is replaced this long after its last renewal.
constexpr absl::Duration kLeaderLease = absl::Seconds(15);
// How often a replica on a shared store looks for what other replicas
// committed (feed appends, escalation steps) although no NOTIFY said so:
// the bound on the delay a lost hint causes.
constexpr ReplicaFollowers::Intervals kReplicaPolls{absl::Seconds(1), absl::Seconds(1)};

// Every part of a running broker. Its members are declared in dependency
// order, so destroying it is the shutdown: the gRPC server stops first, the
// store goes last, and ShutdownStep members mark where a part must stop while
// what it uses still lives.
class BrokerParts final {
 public:
  explicit BrokerParts(BrokerServerOptions options) : options_(std::move(options)) {}

  absl::Status Init() {
    const auto& config = options_.config;
    metrics_ = std::make_unique<metrics::BrokerMetrics>(
        metrics::BrokerMetricsOptions::ForConfig(config));
    std::vector<std::string> problems;
    geography_ = std::make_unique<Geography>(Geography::Build(config, &problems));
    if (!problems.empty()) return absl::InvalidArgumentError(problems.front());
    router_ = std::make_unique<Router>(config, *geography_);
    views_ = std::make_unique<ViewBuilder>(config);

    auto keys = crypto::KeyRing::Load(options_.key_dir, /*create_if_empty=*/true, random_);
    if (!keys.ok()) return keys.status();
    keys_ = std::move(*keys);
    StoreOpenOptions store_options;
    store_options.backend = config.store().backend();
    store_options.data_dir = options_.data_dir;
    store_options.broker_id = config.store().broker_id();
    store_options.keys = keys_.get();
    if (store_options.backend == "postgres") {
      auto postgres = ResolvePostgresOptions(config.store().postgres(), options_.key_dir);
      if (!postgres.ok()) return postgres.status();
      store_options.postgres = std::move(*postgres);
    }
    auto store = OpenStore(store_options);
    if (!store.ok()) return store.status();
    opened_store_ = std::move(*store);
    store_ = opened_store_.get();
    if (options_.wrap_store) {
      wrapped_store_ = options_.wrap_store(*opened_store_);
      store_ = wrapped_store_.get();
    }
    StoreExecutorOptions executor_options;
    executor_options.threads = config.store().executor_threads();
    executor_options.queue_limit = config.store().executor_queue_limit();
    store_executor_ = std::make_unique<StoreExecutor>(executor_options);
    ops_ = std::make_unique<OpsSurface>(
        OpsSurfaceOptions{config.server().ops(), options_.ops_listen_address, options_.tls_dir,
                          options_.crl_dir.empty() ? config.server().crl_directory()
                                                   : options_.crl_dir},
        clock_, *store_executor_, in_flight_);
    // Claims this broker's killed predecessor held (same broker id) are
    // released now instead of waiting out their leases; other brokers'
    // claims are theirs until their leases expire.
    if (auto s = store_->ReleaseClaims(clock_.Now()); !s.ok()) return s;

    // Acks are decided from what this broker wrote only where it is the one
    // writer (SQLite): with replicas a partner's acks may reach several of
    // them, and on PostgreSQL a guess another replica made stale fails the
    // optimistic pass of its whole write batch, not just itself.
    if (config.store().backend() != "postgres") known_deliveries_.emplace();
    // The one writer queue: intakes, supplements, acks, timer firings,
    // escalation steps and feed appends share its group commits (one fsync
    // for all). Readiness watches its commits.
    writes_ = std::make_unique<WriteQueue>(
        ops_->WatchCommits(*store_), config.store().max_group_commit(),
        [this](std::span<const WriteRequest> requests,
               std::span<const absl::StatusOr<WriteResult>> results) {
          AfterCommit(requests, results);
        },
        &metrics_->events(), WriteQueue::kDefaultMaxBackgroundBatch,
        FromProtoDuration(config.store().ack_linger()));
    feed_appender_ = std::make_unique<feed::FeedAppender>(*writes_, clock_);
    ladders_ = std::make_unique<EscalationLadders>(config, *geography_, ids_);
    acks_ = std::make_unique<AckRecorder>(
        *store_, *writes_, *store_executor_, clock_, *ladders_, &metrics_->events(),
        known_deliveries_.has_value() ? &*known_deliveries_ : nullptr);
    if (auto s = StartPushSupport(); !s.ok()) return s;
    ops_->StartProbing(*writes_, *scheduler_);
    adapter_io_ = std::make_unique<adapters::AdapterIo>();
    if (auto s = RegisterBuiltinAdapters(registry_, {feed_appender_.get(), adapter_io_.get()});
        !s.ok()) {
      return s;
    }
    std::map<std::string, Adapter*> by_agency;
    for (const auto& agency : config.agencies()) {
      auto adapter = CreateAdapter(agency);
      if (!adapter.ok()) return adapter.status();
      by_agency[agency.id()] = *adapter;
    }
    // Every adapter type is known by now (CreateAdapter refused the rest).
    feed::FeedPlacement feed_placement = feed::FeedPlacement::ForConfig(config, registry_);
    const auto& d = config.dispatch();
    DispatchPolicy policy;
    policy.budget = {d.max_attempts(), FromProtoDuration(d.max_retry_duration())};
    std::map<std::string, RetryBudget> budgets;
    for (const auto& agency : config.agencies()) {
      const auto& a = agency.adapter();
      if (a.max_attempts() == 0 && !a.has_max_retry_duration()) continue;
      budgets[agency.id()] = {a.max_attempts() ? a.max_attempts() : policy.budget.max_attempts,
                              a.has_max_retry_duration() ? FromProtoDuration(a.max_retry_duration())
                                                         : policy.budget.max_duration};
    }
    policy.backoff = {FromProtoDuration(d.initial_backoff()),
                      FromProtoDuration(d.max_backoff())};
    policy.claim_lease = FromProtoDuration(d.claim_lease());
    policy.claim_batch = d.claim_batch();
    dispatcher_ = std::make_unique<Dispatcher>(*store_, std::move(by_agency), clock_, random_,
                                               policy, *ladders_, std::move(budgets),
                                               &metrics_->events());
    std::string key_file = config.audit().signing_key_file();
    if (!key_file.empty() && key_file[0] != '/') key_file = options_.data_dir + "/" + key_file;
    auto signer = audit::CheckpointSigner::LoadOrCreate(key_file);
    if (!signer.ok()) return signer.status();
    signer_ = std::move(*signer);
    audit_log_ = std::make_unique<audit::AuditLog>(*store_, *signer_, clock_);
    const absl::Duration checkpoint_interval =
        FromProtoDuration(config.audit().checkpoint_interval());
    updater_ =
        std::make_unique<ReferralUpdater>(*geography_, *router_, *views_, ids_, *ladders_);
    auto wake = [this] { WakeDispatcher(); };
    timer_runner_ = std::make_unique<TimerRunner>(
        *store_, *writes_, *updater_, *ladders_, clock_, policy.claim_lease, wake,
        [this](uint64_t sequence) { escalation_hub_.Publish(kEscalationTopic, sequence); },
        &metrics_->events());
    dispatch_loop_ = std::make_unique<DispatchLoop>(
        std::vector<DispatchLoop::Pass>{[this] { return timer_runner_->RunOnce(); },
                                        [this] { return dispatcher_->RunOnce(); }},
        std::vector<DispatchLoop::Pass>{[this, checkpoint_interval]() -> absl::StatusOr<size_t> {
          // Checkpoints are signed once per cluster, by the leader lease's
          // holder (brokers sharing a PostgreSQL store; SQLite: always).
          const absl::Time now = clock_.Now();
          auto leading = store_->TryLead(now, now + kLeaderLease);
          if (!leading.ok()) return leading.status();
          if (*leading && !leading_) audit_log_->ForgetLatest();
          leading_ = *leading;
          if (!*leading) return size_t{0};
          return audit_log_->CheckpointIfDue(checkpoint_interval);
        }},
        *store_, clock_, [this] { return dispatcher_->Holds(); });
    {
      absl::MutexLock lock(&wake_mu_);
      wake_target_ = dispatch_loop_.get();
    }
    supplements_ = std::make_unique<SupplementProcessor>(*geography_, *updater_, *store_,
                                                         *writes_, clock_, wake);
    pipeline_ = std::make_unique<IntakePipeline>(*geography_, *router_, *writes_,
                                                 clock_, ids_, *ladders_,
                                                 std::move(feed_placement), &metrics_->events());
    const auto& server = config.server();
    AuthorizerOptions auth;
    auth.rate_per_second = server.rate_limit_per_second();
    auth.rate_burst = server.rate_limit_burst();
    auth.max_streams_per_identity = server.max_streams_per_identity();
    auth.require_deadlines = server.require_deadlines();
    authorizer_ = std::make_unique<Authorizer>(*store_, clock_, auth, *store_executor_);
    redeliverer_ = std::make_unique<Redeliverer>(*store_, *geography_, *ladders_, clock_, ids_);
    Sealer::Hooks seal_hooks;
    seal_hooks.before = [this](const std::string& referral_id) { SealBegins(referral_id); };
    seal_hooks.after = [this](const std::string& referral_id) { recent_seals_.End(referral_id); };
    sealer_ = std::make_unique<Sealer>(*store_, *geography_, clock_, ids_, std::move(seal_hooks));
    operator_service_ = std::make_unique<OperatorServiceImpl>(*store_, *keys_, *authorizer_,
                                                              clock_, *store_executor_);
    intake_service_ = std::make_unique<IntakeServiceImpl>(
        *pipeline_, *supplements_, *authorizer_, *store_executor_, &metrics_->events());
    supervisor_operations_ = std::make_unique<SupervisorOperations>(SupervisorOperations::Deps{
        .store = store_,
        .clock = &clock_,
        .geography = geography_.get(),
        .redeliverer = redeliverer_.get(),
        .acks = acks_.get(),
        .adapter_health = &health_board_,
        .wake = wake,
        .report_options = reports::ReportOptionsFromConfig(config.reports()),
        .writes = writes_.get()});
    SupervisorServiceImpl::Deps supervisor;
    supervisor.store = store_;
    supervisor.executor = store_executor_.get();
    supervisor.pipeline = pipeline_.get();
    supervisor.authorizer = authorizer_.get();
    supervisor.operations = supervisor_operations_.get();
    supervisor.escalation_hub = &escalation_hub_;
    supervisor.sealer = sealer_.get();
    supervisor.wake = wake;
    dashboard_ = std::make_unique<dashboard::Dashboard>(
        clock_, random_, dashboard::DashboardOptions{.origin = [this] { return OpsOrigin(); }},
        dashboard::DashboardServices{supervisor_operations_.get(), store_executor_.get(), store_,
                                     &escalation_hub_});
    if (auto s = dashboard_->Register(ops_->router()); !s.ok()) return s;
    supervisor.dashboard_login = [this](const Identity& identity) {
      return dashboard_->CreateLogin(identity);
    };
    supervisor_service_ = std::make_unique<SupervisorServiceImpl>(std::move(supervisor));
    audit_service_ = std::make_unique<AuditServiceImpl>(*store_, *audit_log_, *authorizer_,
                                                        *store_executor_);
    feed::FeedServiceOptions feed_options;
    feed_options.heartbeat_interval = FromProtoDuration(config.feed().heartbeat_interval());
    feed_options.page_size = config.feed().page_size();
    feed_options.tail = &feed_tail_;
    feed_options.seals = &recent_seals_;
    feed_service_ = std::make_unique<feed::FeedServiceImpl>(
        *store_, *store_executor_, hub_, *views_, *acks_, *authorizer_, clock_, feed_options);
    // Other replicas on the same store (postgres) append to the same feeds,
    // add work and escalate: this replica's subscribers, dispatcher and
    // escalation watchers hear of it.
    ReplicaFollowers::Targets targets{&hub_, &escalation_hub_, wake};
    // Another replica's seal: what this one holds of the facts in memory
    // goes as it would after a seal here.
    targets.referrals_sealed = [this](const std::vector<std::string>& referral_ids) {
      if (referral_ids.empty()) {
        writes_->AwaitAfterCommits();
        feed_tail_.Clear();
        recent_seals_.ForgetAll();
      }
      for (const std::string& referral_id : referral_ids) {
        SealBegins(referral_id);
        recent_seals_.End(referral_id);
      }
    };
    auto followers = ReplicaFollowers::Start(store_options, *store_, clock_, std::move(targets),
                                             kReplicaPolls);
    if (!followers.ok()) return followers.status();
    replica_followers_ = std::move(*followers);
    metrics_refresher_ = StartMetricsRefresher(
        *metrics_, {store_, store_executor_.get(), &health_board_, feed_service_.get(),
                    scheduler_.get(), &clock_});

    AuditEvent started{clock_.Now(), kBrokerActor, "config.loaded", "", "", "",
                       absl::StrCat("policy_version=", config.policy_version(),
                                    " rules=", config.rules_size(),
                                    " agencies=", config.agencies_size(),
                                    " towns=", config.towns_size())};
    if (auto s = store_->AppendAudit({&started, 1}); !s.ok()) return s;
    if (auto s = StartGrpc(); !s.ok()) return s;
    if (auto s = ServeMetrics(ops_->router(), *metrics_); !s.ok()) return s;
    return ops_->Serve();
  }

  int port() const { return port_; }
  int ops_port() const { return ops_->port(); }

  // "https://<ops IP>:<ops port>", where dashboard links point; empty when
  // the port is off.
  std::string OpsOrigin() const {
    const int port = ops_->port();
    const std::string& configured = options_.ops_listen_address.empty()
                                        ? options_.config.server().ops().listen_address()
                                        : options_.ops_listen_address;
    auto address = ParseListenAddress(configured);
    if (port == 0 || !address.ok()) return "";
    const bool v6 = address->ip.find(':') != std::string::npos;
    return absl::StrCat("https://", v6 ? "[" : "", address->ip, v6 ? "]" : "", ":", port);
  }

  // SIGTERM's first steps: readiness false, new calls refused, streams
  // ended; in-flight calls get three quarters of the drain timeout (main()
  // bounds the whole drain), then the gRPC server stops.
  void Drain() {
    const absl::Duration timeout =
        FromProtoDuration(options_.config.server().ops().drain_timeout());
    const absl::Time calls_deadline = absl::Now() + timeout * 3 / 4;
    Logger("server")->info("event=draining calls_in_flight={}", in_flight_.count());
    ops_->BeginDrain();
    authorizer_->BeginDrain();
    if (!in_flight_.WaitUntilNone(calls_deadline)) {
      Logger("server")->warn("event=drain_calls_cut calls_in_flight={}", in_flight_.count());
    }
    // A moment for calls that raced the refusal to send it; what is left
    // then (health watches) is cancelled.
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(250));
  }

  absl::Status ReloadKeys() { return keys_->Reload(); }

 private:
  // A seal begins here, or another replica's was committed: what this
  // broker holds of the referral's facts in memory goes (the feeds' tail;
  // subscriptions' pages, through RecentSeals).
  // The referral was committed before its seal began, but the tail may
  // not have been told yet (the hook runs on the answering thread, after
  // the commit): clearing it before then would let the hook put the
  // sealed intake back.
  void SealBegins(const std::string& referral_id) {
    writes_->AwaitAfterCommits();
    feed_tail_.Clear();
    recent_seals_.Begin(referral_id);
  }

  // After each group commit: the feeds' tail keeps what the new intakes put
  // on feeds, the known deliveries those and their acks' states, then
  // subscribers of feeds that grew are woken, once per agency
  // per batch, and the dispatcher if new referrals added work due before its
  // planned turn (deliveries put on feeds add none). (Changes and
  // escalation steps wake it through their own callers.)
  void AfterCommit(std::span<const WriteRequest> requests,
                   std::span<const absl::StatusOr<WriteResult>> results) {
    feed_tail_.Remember(requests, results);
    if (known_deliveries_) known_deliveries_->Remember(requests, results);
    feed::PublishHeads(hub_, results);
    std::optional<absl::Time> first_due;
    for (size_t i = 0; i < results.size() && i < requests.size(); ++i) {
      const auto* created = results[i].ok() ? std::get_if<CreateReferralResult>(&*results[i])
                                            : nullptr;
      const auto* referral = std::get_if<NewReferral>(&requests[i]);
      if (created == nullptr || referral == nullptr ||
          created->outcome != CreateReferralResult::Outcome::kCreated) {
        continue;
      }
      const std::optional<absl::Time> due = DispatchLoop::FirstDueWork(*referral);
      if (due && (!first_due || *due < *first_due)) first_due = due;
    }
    if (first_due) WakeDispatcherFor(*first_due);
  }

  // Safe from any thread at any time: the writer queue and the executor
  // outlive the dispatch loop (stop_waking_ clears the target first).
  void WakeDispatcher() {
    absl::MutexLock lock(&wake_mu_);
    if (wake_target_ != nullptr) wake_target_->Wake();
  }
  void WakeDispatcherFor(absl::Time due) {
    absl::MutexLock lock(&wake_mu_);
    if (wake_target_ != nullptr) wake_target_->WakeForWorkDue(due);
  }

  // What push adapters share: the ack token key and HTTPS ack endpoint,
  // the message source, the ack sink, the guards' watchdog scheduler.
  absl::Status StartPushSupport() {
    const auto& endpoint = options_.config.server().ack_endpoint();
    std::string key_file =
        endpoint.token_key_file().empty() ? "ack-token.key" : endpoint.token_key_file();
    if (key_file[0] != '/') key_file = options_.key_dir + "/" + key_file;
    auto tokens = AckTokens::LoadOrCreate(key_file, random_);
    if (!tokens.ok()) return tokens.status();
    ack_tokens_ = std::move(*tokens);
    if (!endpoint.listen_address().empty()) {
      AckEndpointSettings settings;
      settings.listen_address = endpoint.listen_address();
      settings.cert_file = options_.tls_dir + "/broker.crt";
      settings.key_file = options_.tls_dir + "/broker.key";
      auto started = AckHttpEndpoint::Start(settings, *ack_tokens_, *acks_, *store_,
                                            *store_executor_, clock_);
      if (!started.ok()) return started.status();
      ack_endpoint_ = std::move(*started);
    }
    // Without an endpoint, messages carry no token: acks come through
    // FeedService.Acknowledge (or the adapter's own channel).
    content_ = std::make_unique<StoredDeliveryContent>(
        *store_, *store_executor_, *views_, ack_endpoint_ ? ack_tokens_.get() : nullptr,
        AckUrl());
    ack_sink_ = std::make_unique<RecorderAckSink>(*acks_);
    scheduler_ = std::make_unique<ThreadScheduler>(clock_);
    return absl::OkStatus();
  }

  std::string AckUrl() const {
    if (!ack_endpoint_) return "";
    const auto& endpoint = options_.config.server().ack_endpoint();
    if (!endpoint.public_url().empty()) return endpoint.public_url();
    return absl::StrCat("https://127.0.0.1:", ack_endpoint_->port(), "/v1/acks");
  }

  // The agency's adapter; push adapters come wrapped in their guard
  // (circuit breaker, concurrency limit, watchdog) and report health.
  absl::StatusOr<Adapter*> CreateAdapter(const hart::config::v1::Agency& agency) {
    const AdapterFactory* factory = registry_.Find(agency.adapter().type());
    if (factory == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "agency ", agency.id(), ": unknown adapter type '", agency.adapter().type(), "'"));
    }
    google::protobuf::Struct settings = agency.adapter().settings();
    if (auto s = ResolveAdapterPaths(settings, options_.key_dir, options_.data_dir); !s.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("agency ", agency.id(), ": ", s.message()));
    }
    const DeliveryGuardPolicy policy = DeliveryGuardPolicy::FromConfig(agency.adapter().limits());
    AdapterContext context{store_, &clock_, content_.get(), ack_sink_.get(),
                           policy.timeout};
    auto adapter = factory->Create(agency.id(), settings, context);
    if (!adapter.ok()) {
      return absl::Status(adapter.status().code(),
                          absl::StrCat("agency ", agency.id(), ": ", adapter.status().message()));
    }
    if (factory->feeds_from_store()) {
      adapters_.push_back(std::move(*adapter));
      return adapters_.back().get();
    }
    auto guard = std::make_unique<GuardedAdapter>(agency.id(), std::move(*adapter), policy,
                                                  clock_, *scheduler_);
    health_board_.Add(*guard);
    adapters_.push_back(std::move(guard));
    return adapters_.back().get();
  }

  absl::Status StartGrpc() {
    GrpcListenerOptions grpc;
    grpc.tls_dir = options_.tls_dir;
    grpc.crl_dir = options_.crl_dir;
    grpc.address = options_.listen_address;
    grpc.services = {intake_service_.get(), feed_service_.get(), supervisor_service_.get(),
                     audit_service_.get(), operator_service_.get()};
    grpc.interceptors.push_back(in_flight_.InterceptorFactory());
    auto listener = StartGrpcListener(options_.config.server(), std::move(grpc));
    if (!listener.ok()) return listener.status();
    server_ = std::move(listener->server);
    port_ = listener->port;
    // gRPC health says what /readyz says, for the server and each service.
    ops_->ReportTo(*server_->GetHealthCheckService(),
                   {v1::IntakeService::service_full_name(), v1::FeedService::service_full_name(),
                    v1::SupervisorService::service_full_name(),
                    v1::AuditService::service_full_name(),
                    v1::OperatorService::service_full_name()});
    return absl::OkStatus();
  }

  BrokerServerOptions options_;
  SystemClock clock_;
  CryptoRandom random_;
  BufferedRandom id_random_{random_, 512};  // ids only, never keys
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

// The BrokerServer handed out: Shutdown destroys the parts, in their order.
class RunningBroker final : public BrokerServer {
 public:
  explicit RunningBroker(std::unique_ptr<BrokerParts> parts)
      : port_(parts->port()), ops_port_(parts->ops_port()), parts_(std::move(parts)) {}
  int port() const override { return port_; }
  int ops_port() const override { return ops_port_; }
  void Shutdown() override {
    if (!parts_) return;
    parts_->Drain();
    parts_.reset();
  }
  absl::Status ReloadKeys() override {
    if (!parts_) return absl::FailedPreconditionError("the broker is shut down");
    return parts_->ReloadKeys();
  }

 private:
  const int port_;
  const int ops_port_;
  std::unique_ptr<BrokerParts> parts_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<BrokerServer>> BrokerServer::Start(
    BrokerServerOptions options) {
  auto parts = std::make_unique<BrokerParts>(std::move(options));
  if (auto s = parts->Init(); !s.ok()) return s;
  return std::make_unique<RunningBroker>(std::move(parts));
}

}  // namespace hart
