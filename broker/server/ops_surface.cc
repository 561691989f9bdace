#include "broker/server/ops_surface.h"

#include <utility>

#include "broker/common/time_util.h"
#include "broker/config/ops_options.h"
#include "broker/ops/health_endpoints.h"

namespace hart {
namespace {

ops::ReadinessOptions ReadinessOptionsOf(const hart::config::v1::OpsOptions& config) {
  ops::ReadinessOptions options;
  options.interval = FromProtoDuration(config.readiness_interval());
  options.store_write_timeout = FromProtoDuration(config.store_write_timeout());
  return options;
}

}  // namespace

OpsSurface::OpsSurface(OpsSurfaceOptions options, const Clock& clock, StoreExecutor& executor,
                       InFlightCalls& calls)
    : options_(std::move(options)),
      readiness_(clock, ReadinessOptionsOf(options_.config),
                 {.executor_queue_length = [&executor] { return executor.queue_length(); },
                  .executor_capacity = executor.capacity(),
                  .probe =
                      [this](std::function<void(absl::Status)> done) {
                        WriteQueue* writes = writes_.load();
                        if (writes == nullptr) return done(absl::OkStatus());
                        // An empty batch item: a transaction that writes
                        // nothing, not even an audit entry.
                        writes->AppendAudit({}, [done = std::move(done)](
                                                    absl::StatusOr<AuditAppended> appended) {
                          done(appended.status());
                        });
                      },
                  .calls_in_flight = [&calls] { return calls.count(); }}) {}

OpsSurface::~OpsSurface() { Stop(); }

WriteStore& OpsSurface::WatchCommits(WriteStore& store) {
  commit_watch_ = std::make_unique<ops::CommitWatch>(store, readiness_);
  return *commit_watch_;
}

void OpsSurface::StartProbing(WriteQueue& writes, Scheduler& scheduler) {
  writes_.store(&writes);
  readiness_.StartTicking(scheduler);
}

void OpsSurface::ReportTo(grpc::HealthCheckServiceInterface& health,
                          std::vector<std::string> services) {
  {
    absl::MutexLock lock(&health_mu_);
    health_ = &health;
  }
  services.push_back("");  // the server as a whole
  readiness_.Subscribe([this, services = std::move(services)](bool ready) {
    absl::MutexLock lock(&health_mu_);
    if (health_ == nullptr) return;
    for (const auto& service : services) health_->SetServingStatus(service, ready);
  });
}

ops::OpsServerSettings OpsSurface::ServerSettings() const {
  const auto& config = options_.config;
  ops::OpsServerSettings settings;
  settings.listen_address =
      options_.listen_address.empty() ? config.listen_address() : options_.listen_address;
  settings.tls = {options_.tls_dir + "/broker.crt", options_.tls_dir + "/broker.key",
                  options_.tls_dir + "/ca.crt", options_.crl_dir};
  settings.max_connections = config.max_connections();
  settings.max_header_bytes = config.max_header_bytes();
  settings.max_body_bytes = config.max_body_bytes();
  settings.request_timeout = FromProtoDuration(config.request_timeout());
  return settings;
}

absl::Status OpsSurface::Serve() {
  const ops::OpsServerSettings settings = ServerSettings();
  if (settings.listen_address == kOpsListenOff) return absl::OkStatus();
  if (auto s = ops::AddHealthEndpoints(router_, readiness_); !s.ok()) return s;
  auto server = ops::OpsServer::Start(settings, std::move(router_));
  if (!server.ok()) return server.status();
  server_ = std::move(*server);
  return absl::OkStatus();
}

void OpsSurface::Stop() {
  if (server_) server_->Stop();
  readiness_.StopTicking();
  writes_.store(nullptr);
  absl::MutexLock lock(&health_mu_);
  health_ = nullptr;
}

}  // namespace hart
