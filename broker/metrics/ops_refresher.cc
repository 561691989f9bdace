#include "broker/metrics/ops_refresher.h"

#include <algorithm>
#include <utility>

#include "broker/common/logging.h"

namespace hart::metrics {

OpsRefresher::OpsRefresher(StateGauges& gauges, OpsSnapshotStore& store,
                           StoreExecutor& executor, Scheduler& scheduler, const Clock& clock,
                           Sampler sample, absl::Duration interval)
    : gauges_(gauges),
      store_(store),
      executor_(executor),
      scheduler_(scheduler),
      clock_(clock),
      sample_(std::move(sample)),
      interval_(interval) {}

OpsRefresher::~OpsRefresher() {
  uint64_t scheduled = 0;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    scheduled = scheduled_;
  }
  if (scheduled != 0) scheduler_.Cancel(scheduled);
  // A store read in progress ends soon (a count over a large backlog can
  // take seconds), then the refresh finishes first; one that starts later
  // finds the gate closed and touches nothing.
  store_.StopOpsSnapshotReads();
  gate_->CloseAndWait();
}

void OpsRefresher::Start() { ScheduleAt(clock_.Now()); }

void OpsRefresher::ScheduleAt(absl::Time when) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  scheduled_ = scheduler_.RunAt(when, [this, gate = gate_] {
    if (!gate->Enter()) return;  // stopped: `this` may be gone
    Refresh();
  });
}

void OpsRefresher::Refresh() {
  if (sample_) gauges_.ApplyRuntime(sample_());
  const absl::Time now = clock_.Now();
  // The gate stays entered until Finish: the read uses the store and this.
  executor_.Run([this, now] { return store_.ReadOpsSnapshot(now); },
                [this, now](absl::StatusOr<OpsSnapshot> snapshot) {
                  Finish(std::move(snapshot), now);
                });
}

void OpsRefresher::Finish(absl::StatusOr<OpsSnapshot> snapshot, absl::Time read_at) {
  bool stopping = false;
  {
    absl::MutexLock lock(&mu_);
    stopping = stopping_;
  }
  if (snapshot.ok()) {
    gauges_.ApplySnapshot(*snapshot, read_at);
  } else if (stopping) {
    Logger("metrics")->info("event=ops_snapshot_stopped");  // its read was ended
  } else {
    gauges_.SnapshotFailed();
    Logger("metrics")->warn("event=ops_snapshot_failed code={}",
                            absl::StatusCodeToString(snapshot.status().code()));
  }
  const absl::Time now = clock_.Now();
  const absl::Duration spaced =
      std::min((now - read_at) * kReadTimeShareInverse, kMaxSpacedInterval);
  ScheduleAt(now + std::max(interval_, spaced));
  gate_->Exit();
}

}  // namespace hart::metrics
