// The metrics of the broker's state, set at each refresh (OpsRefresher)
// rather than as events happen: from the store's OpsSnapshot (deliveries
// by state, outbox, overdue, dead letters, audit log) and from a
// RuntimeSample of memory (store executor, push circuits, feed streams).
// A label set seen once keeps its series: a count that drops to nothing
// reads 0, not absent.
//
// Thread safety: every method may be called from any thread; refreshes are
// serialised.
#pragma once

#include <set>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/metrics/runtime_sample.h"
#include "broker/ops_snapshot_store.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace hart::metrics {

class StateGauges {
 public:
  // Registers the families in `registry`, which must outlive this object.
  explicit StateGauges(prometheus::Registry& registry);

  // The store-derived gauges from `snapshot`, read at `now` (ages count
  // from `now`).
  void ApplySnapshot(const OpsSnapshot& snapshot, absl::Time now);
  // A snapshot could not be read: hart_ops_snapshot_failures_total; the
  // gauges keep their values (hart_ops_snapshot_timestamp_seconds says
  // how old they are).
  void SnapshotFailed();
  void ApplyRuntime(const RuntimeSample& sample);

 private:
  using GaugeFamily = prometheus::Family<prometheus::Gauge>;
  // A gauge family whose label sets are all set at each refresh: those
  // seen before and missing now read 0.
  struct Tracked {
    GaugeFamily& family;
    std::set<prometheus::Labels> seen;
    void SetAll(const std::map<prometheus::Labels, double>& values);
  };

  absl::Mutex mu_;
  Tracked deliveries_ ABSL_GUARDED_BY(mu_);
  prometheus::Gauge& outbox_depth_;
  prometheus::Gauge& outbox_oldest_age_;
  Tracked overdue_ ABSL_GUARDED_BY(mu_);
  Tracked dead_letters_ ABSL_GUARDED_BY(mu_);
  prometheus::Gauge& audit_tree_size_;
  GaugeFamily& checkpoint_time_;
  GaugeFamily& checkpoint_age_;
  prometheus::Gauge& snapshot_time_;
  prometheus::Counter& snapshot_failures_;
  prometheus::Gauge& executor_queue_length_;
  prometheus::Gauge& executor_capacity_;
  prometheus::Counter& executor_refused_;
  Tracked circuit_state_ ABSL_GUARDED_BY(mu_);
  Tracked push_in_flight_ ABSL_GUARDED_BY(mu_);
  Tracked push_queued_ ABSL_GUARDED_BY(mu_);
  Tracked push_call_seconds_ ABSL_GUARDED_BY(mu_);
  Tracked push_failures_ ABSL_GUARDED_BY(mu_);
  Tracked feed_subscribers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hart::metrics
