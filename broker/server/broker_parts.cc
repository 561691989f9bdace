#include "broker/server/broker_parts.h"

#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "adapters/builtin.h"
#include "broker/common/listen_address.h"
#include "broker/common/logging.h"
#include "broker/common/time_util.h"
#include "broker/config/postgres_options.h"
#include "broker/feed/seal_begins.h"
#include "broker/store/agency_holds.h"
#include "broker/store/store_factory.h"

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

}  // namespace

absl::Status BrokerParts::Init() {
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
  for (const auto& agency : config.agencies()) auth.agency_ids.insert(agency.id());
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
    const feed::SealWatchers watchers = SealWatchers();
    if (referral_ids.empty()) return feed::AnySealMayHaveBegun(watchers);
    feed::SealsBegin(watchers, referral_ids);
    for (const std::string& referral_id : referral_ids) recent_seals_.End(referral_id);
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

std::string BrokerParts::OpsOrigin() const {
  const int port = ops_->port();
  const std::string& configured = options_.ops_listen_address.empty()
                                      ? options_.config.server().ops().listen_address()
                                      : options_.ops_listen_address;
  auto address = ParseListenAddress(configured);
  if (port == 0 || !address.ok()) return "";
  const bool v6 = address->ip.find(':') != std::string::npos;
  return absl::StrCat("https://", v6 ? "[" : "", address->ip, v6 ? "]" : "", ":", port);
}

void BrokerParts::Drain() {
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

void BrokerParts::SealBegins(const std::string& referral_id) {
  feed::SealsBegin(SealWatchers(), {referral_id});
}

feed::SealWatchers BrokerParts::SealWatchers() {
  return {writes_.get(), &feed_tail_, &recent_seals_,
          [this] { feed_service_->CancelWritesOfSealedFacts(); }};
}

void BrokerParts::AfterCommit(std::span<const WriteRequest> requests,
                 std::span<const absl::StatusOr<WriteResult>> results) {
  feed_tail_.Remember(requests, results);
  if (known_deliveries_) known_deliveries_->Remember(requests, results);
  feed::PublishHeads(hub_, results);
  absl::MutexLock lock(&wake_mu_);
  if (wake_target_ == nullptr) return;
  std::optional<std::vector<AgencyHold>> holds;  // read once, if an intake was created
  std::optional<absl::Time> first_due;
  for (size_t i = 0; i < results.size() && i < requests.size(); ++i) {
    const auto* created = results[i].ok() ? std::get_if<CreateReferralResult>(&*results[i])
                                          : nullptr;
    const auto* referral = std::get_if<NewReferral>(&requests[i]);
    if (created == nullptr || referral == nullptr ||
        created->outcome != CreateReferralResult::Outcome::kCreated) {
      continue;
    }
    if (!holds) holds = dispatcher_->Holds();
    first_due = Earlier(first_due, DispatchLoop::FirstDueWork(*referral, *holds));
  }
  if (first_due) wake_target_->WakeForWorkDue(*first_due);
}

void BrokerParts::WakeDispatcher() {
  absl::MutexLock lock(&wake_mu_);
  if (wake_target_ != nullptr) wake_target_->Wake();
}

}  // namespace hart
