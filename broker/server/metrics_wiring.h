// The composition root's metrics wiring, apart from broker_parts.cc: the
// refresher of the state gauges, fed by the store (on the store executor),
// the push destinations' health board and the feed service.
#pragma once

#include <memory>

#include "absl/time/time.h"
#include "broker/adapter_health.h"
#include "broker/clock.h"
#include "broker/feed/feed_service.h"
#include "broker/metrics/broker_metrics.h"
#include "broker/metrics/ops_refresher.h"
#include "broker/ops/router.h"
#include "broker/scheduler.h"
#include "broker/store.h"
#include "broker/store/store_executor.h"

namespace hart {

// How often the state gauges are refreshed (one store read each time).
inline constexpr absl::Duration kMetricsRefreshInterval = absl::Seconds(5);

// What the state gauges are read from; all must outlive the refresher.
struct MetricsSources {
  Store* store = nullptr;
  StoreExecutor* executor = nullptr;
  const AdapterHealthSource* push_health = nullptr;
  const feed::FeedServiceImpl* feed = nullptr;
  Scheduler* scheduler = nullptr;
  const Clock* clock = nullptr;
};

// The refresher and the worker its store reads run on: a thread of its own
// at nice 10, so that a snapshot that reads long (the overdue counts of a
// store of a million unacknowledged referrals: 0.66 s of a core) yields the
// CPU to the requests instead of adding to their latency on a small
// machine. The refresher goes first (members end in reverse order).
struct MetricsRefresh {
  std::unique_ptr<StoreExecutor> snapshot_executor;
  std::unique_ptr<metrics::OpsRefresher> refresher;
};

// Refreshes metrics.gauges() from `sources` now and every
// kMetricsRefreshInterval until destroyed.
MetricsRefresh StartMetricsRefresher(metrics::BrokerMetrics& metrics,
                                     const MetricsSources& sources);

// Serves `metrics` at GET /metrics on the operations port: the text
// exposition format, from memory (the store-derived gauges are refreshed
// apart, never on the port's I/O thread). `metrics` must outlive the port.
absl::Status ServeMetrics(ops::Router& router, const metrics::BrokerMetrics& metrics);

}  // namespace hart
