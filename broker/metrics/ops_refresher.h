// Refreshes StateGauges every `interval`: samples the broker's memory
// (RuntimeSample, on the scheduler's thread) and reads the store's
// OpsSnapshot on the store executor, never on a thread that serves
// requests, and never on the scrape. One store read at a time: the next
// refresh is scheduled when the read has answered, so a slow store slows
// the refreshes instead of piling reads up, and a read that takes long
// (its overdue counts read an index range as long as the overdue backlog:
// 0.66 s of a core on a million unacknowledged referrals) spaces the next
// ones out to at most 2 % of the time (up to 30 s apart), so the snapshot
// does not take a core from the requests on a small machine. A full executor (or a failed
// read) counts as hart_ops_snapshot_failures_total and the next refresh
// tries again.
//
// Thread safety: construct, Start and destroy from one thread. Lifetime:
// everything passed in outlives the refresher; the destructor asks the
// store to end its snapshot reads (OpsSnapshotStore::StopOpsSnapshotReads:
// for good, so one refresher per store) and waits for a refresh in
// progress to finish, so the executor must still run tasks then.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "broker/clock.h"
#include "broker/common/callback_gate.h"
#include "broker/metrics/runtime_sample.h"
#include "broker/metrics/state_gauges.h"
#include "broker/ops_snapshot_store.h"
#include "broker/scheduler.h"
#include "broker/store/store_executor.h"

namespace hart::metrics {

class OpsRefresher {
 public:
  // Reads the broker's memory: quick, no store, no I/O.
  using Sampler = std::function<RuntimeSample()>;

  OpsRefresher(StateGauges& gauges, OpsSnapshotStore& store, StoreExecutor& executor,
               Scheduler& scheduler, const Clock& clock, Sampler sample,
               absl::Duration interval);
  // Stops refreshing and the store's snapshot reads; waits for a refresh
  // in progress to finish.
  ~OpsRefresher();
  OpsRefresher(const OpsRefresher&) = delete;
  OpsRefresher& operator=(const OpsRefresher&) = delete;

  // Refreshes at once, then every `interval`, or every 50 times as long as
  // the last store read took if that is longer, up to 30 s (the stale-gauge
  // alert in the README fires past 60 s).
  void Start();

  static constexpr int64_t kReadTimeShareInverse = 50;
  static constexpr absl::Duration kMaxSpacedInterval = absl::Seconds(30);

 private:
  void Refresh();
  void Finish(absl::StatusOr<OpsSnapshot> snapshot, absl::Time read_at);
  void ScheduleAt(absl::Time when);

  StateGauges& gauges_;
  OpsSnapshotStore& store_;
  StoreExecutor& executor_;
  Scheduler& scheduler_;
  const Clock& clock_;
  const Sampler sample_;
  const absl::Duration interval_;
  // Held from a refresh's start until its store read answered.
  const std::shared_ptr<CallbackGate> gate_ = std::make_shared<CallbackGate>();
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t scheduled_ ABSL_GUARDED_BY(mu_) = 0;  // the next refresh's id
};

}  // namespace hart::metrics
