// The broker's operations surface, wired to its running parts: readiness
// (fed by the writer queue's commits and the store executor's queue,
// reported on /readyz and on the gRPC health service), the operations HTTPS
// port whose router other components add their pages to, and the drain's
// first step.
//
// Lifetime, as BrokerParts orders it: created before the writer queue (its
// CommitWatch and probe answers are used by the queue's thread until the
// queue is gone); Stop() before the scheduler, the writer queue and the
// gRPC server go (it stops the ticks, the HTTPS port and the health
// reports).
//
// Thread safety: set up (router, StartProbing, ReportTo, Serve) from one
// thread; BeginDrain and Stop from one thread, not from a handler.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/clock.h"
#include "broker/ops/commit_watch.h"
#include "broker/ops/ops_server.h"
#include "broker/ops/readiness.h"
#include "broker/ops/router.h"
#include "broker/scheduler.h"
#include "broker/server/in_flight_calls.h"
#include "broker/store/store_executor.h"
#include "broker/store/write_queue.h"
#include "grpcpp/health_check_service_interface.h"
#include "hart/config/v1/broker_config.pb.h"

namespace hart {

struct OpsSurfaceOptions {
  hart::config::v1::OpsOptions config;  // defaults applied
  std::string listen_address;           // overrides config.listen_address when set
  // Holds broker.crt and broker.key (served) and ca.crt (client
  // certificates requested from it).
  std::string tls_dir;
  std::string crl_dir;  // empty: no CRLs
};

class OpsSurface {
 public:
  // `clock`, `executor` and `calls` must outlive it.
  OpsSurface(OpsSurfaceOptions options, const Clock& clock, StoreExecutor& executor,
             InFlightCalls& calls);
  ~OpsSurface();  // Stop()

  // The store the writer queue writes through: `store`, its commits watched.
  WriteStore& WatchCommits(WriteStore& store);
  // Evaluates readiness every readiness_interval on `scheduler`, probing
  // the store through `writes` when it is idle. Both must outlive Stop().
  void StartProbing(WriteQueue& writes, Scheduler& scheduler);
  // Reports readiness as SERVING / NOT_SERVING for "" and every name in
  // `services`, now and on every change until Stop.
  void ReportTo(grpc::HealthCheckServiceInterface& health, std::vector<std::string> services);

  // Where components add their pages, before Serve.
  ops::Router& router() { return router_; }
  // For components that report readiness too (e.g. a metric).
  ops::ReadinessMonitor& readiness() { return readiness_; }
  // Adds /livez, /readyz, /healthz and listens (unless the port is "off").
  absl::Status Serve();
  // The operations port bound; 0 when off or not serving.
  int port() const { return server_ ? server_->port() : 0; }

  // Readiness goes false for good (HTTP and gRPC health).
  void BeginDrain() { readiness_.BeginDrain(); }
  // Stops the HTTPS port, the ticks and the health reports. Idempotent.
  void Stop();

 private:
  ops::OpsServerSettings ServerSettings() const;

  const OpsSurfaceOptions options_;
  std::atomic<WriteQueue*> writes_{nullptr};  // what probes go through, while ticking
  ops::ReadinessMonitor readiness_;
  std::unique_ptr<ops::CommitWatch> commit_watch_;
  ops::Router router_;
  std::unique_ptr<ops::OpsServer> server_;
  absl::Mutex health_mu_;
  grpc::HealthCheckServiceInterface* health_ ABSL_GUARDED_BY(health_mu_) = nullptr;
};

}  // namespace hart
