// Whether the broker can take intakes now: what /readyz (and /healthz) and
// the gRPC health service report. Three checks, in this order:
//  - draining: not shutting down (SIGTERM);
//  - store: writable. Judged from the writer queue's own group commits (a
//    CommitWatch reports each): the last one failed, or one has been
//    running longer than store_write_timeout (a hung disk or database),
//    means not writable until one succeeds. An idle broker commits nothing,
//    so at each interval without a finished commit the store is probed
//    with an empty write transaction through the same queue (SQLite: BEGIN
//    IMMEDIATE and COMMIT; PostgreSQL: a round trip): no row, no audit entry,
//    but the write lock, the connection and the commit path are exercised.
//    A probe unanswered for store_write_timeout fails the check too;
//  - store_executor: its queue is less than `executor_saturation` full
//    (beyond, new store calls are about to be refused).
// A partner being down is not a readiness failure: dead letters and
// escalation handle that. Check details name no referral, person or store
// message.
//
// Thread safety: every method may be called from any thread. Readiness
// changes reach listeners in the order they were evaluated, one at a time;
// listeners must be quick and must not call back into the monitor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/clock.h"
#include "broker/scheduler.h"

namespace hart::ops {

struct ReadinessOptions {
  // How often readiness is evaluated and an idle store probed. Default 2 s.
  absl::Duration interval = absl::Seconds(2);
  // A commit or probe running this long makes the store not writable.
  absl::Duration store_write_timeout = absl::Seconds(10);
  // The share of the executor's queue that counts as saturated.
  double executor_saturation = 0.9;
};

// What the monitor looks at; any may be left empty (tests).
struct ReadinessInputs {
  // Store tasks waiting for a worker, and the most that may wait.
  std::function<size_t()> executor_queue_length;
  size_t executor_capacity = 0;
  // Queues an empty write transaction; `done` gets its commit's outcome,
  // on any thread.
  std::function<void(std::function<void(absl::Status)> done)> probe;
  // gRPC calls in flight: reported beside the draining check, not checked.
  std::function<size_t()> calls_in_flight;
};

struct ReadinessCheck {
  std::string name;  // "draining", "store", "store_executor"
  bool ok = true;
  std::string detail;
};

struct ReadinessReport {
  bool ready = true;
  std::vector<ReadinessCheck> checks;
  // One line per check ("[+]store ok: writable", "[-]draining failed:
  // ..."), then "readyz check passed" or "readyz check failed".
  std::string ToText() const;
};

class ReadinessMonitor {
 public:
  // `clock` must outlive the monitor.
  ReadinessMonitor(const Clock& clock, ReadinessOptions options, ReadinessInputs inputs);
  ~ReadinessMonitor();  // StopTicking()
  ReadinessMonitor(const ReadinessMonitor&) = delete;
  ReadinessMonitor& operator=(const ReadinessMonitor&) = delete;

  // Evaluates (and probes an idle store) every interval on `scheduler`,
  // which must outlive the ticking.
  void StartTicking(Scheduler& scheduler);
  // After it returns no tick runs. A probe in flight may still answer.
  void StopTicking();

  // A group commit starts, and ends with the batch's outcome (an error
  // here means nothing of the batch was stored).
  void CommitStarted();
  void CommitEnded(const absl::Status& outcome);
  // The broker starts draining: not ready from now on.
  void BeginDrain();

  // Evaluates now; a change reaches the listeners.
  ReadinessReport Evaluate();
  // `listener` gets the readiness now and every change after.
  void Subscribe(std::function<void(bool ready)> listener);

 private:
  // The ticking, shared with the scheduled callbacks: a callback that
  // fires after StopTicking finds no monitor and does nothing.
  struct Ticker {
    absl::Mutex mu;
    ReadinessMonitor* monitor ABSL_GUARDED_BY(mu) = nullptr;
    Scheduler* scheduler ABSL_GUARDED_BY(mu) = nullptr;
    uint64_t id ABSL_GUARDED_BY(mu) = 0;
    bool running ABSL_GUARDED_BY(mu) = false;
  };
  static void RunTick(const std::shared_ptr<Ticker>& ticker);
  static void ScheduleLocked(const std::shared_ptr<Ticker>& ticker)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ticker->mu);
  void Tick();
  void OnProbeDone(const absl::Status& outcome);
  ReadinessReport EvaluateLocked(absl::Time now, size_t queued, size_t calls) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PublishLocked(const ReadinessReport& report) ABSL_EXCLUSIVE_LOCKS_REQUIRED(publish_mu_);

  const Clock& clock_;
  const ReadinessOptions options_;
  const ReadinessInputs inputs_;

  // Held while evaluating and telling listeners, so changes reach them in
  // order. Taken before mu_.
  absl::Mutex publish_mu_;
  std::optional<bool> published_ ABSL_GUARDED_BY(publish_mu_);
  std::vector<std::function<void(bool)>> listeners_ ABSL_GUARDED_BY(publish_mu_);

  mutable absl::Mutex mu_;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool last_commit_ok_ ABSL_GUARDED_BY(mu_) = true;
  absl::StatusCode last_commit_error_ ABSL_GUARDED_BY(mu_) = absl::StatusCode::kOk;
  std::optional<absl::Time> commit_started_at_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Time> probe_sent_at_ ABSL_GUARDED_BY(mu_);
  uint64_t commits_ended_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t commits_at_last_tick_ ABSL_GUARDED_BY(mu_) = 0;

  const std::shared_ptr<Ticker> ticker_ = std::make_shared<Ticker>();
};

}  // namespace hart::ops
