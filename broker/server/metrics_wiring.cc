#include "broker/server/metrics_wiring.h"

namespace hart {

MetricsRefresh StartMetricsRefresher(metrics::BrokerMetrics& metrics,
                                     const MetricsSources& sources) {
  auto sample = [sources] {
    metrics::RuntimeSample sample;
    sample.executor_queue_length = sources.executor->queue_length();
    sample.executor_capacity = sources.executor->capacity();
    sample.executor_refused = sources.executor->refused();
    sample.push_destinations = sources.push_health->AllHealth();
    sample.feed_subscribers = sources.feed->SubscriberCounts();
    return sample;
  };
  MetricsRefresh refresh;
  refresh.snapshot_executor =
      std::make_unique<StoreExecutor>(StoreExecutorOptions{.threads = 1, .queue_limit = 2,
                                                           .nice = 10});
  refresh.refresher = std::make_unique<metrics::OpsRefresher>(
      metrics.gauges(), *sources.store, *refresh.snapshot_executor, *sources.scheduler,
      *sources.clock, std::move(sample), kMetricsRefreshInterval);
  refresh.refresher->Start();
  return refresh;
}

absl::Status ServeMetrics(ops::Router& router, const metrics::BrokerMetrics& metrics) {
  return router.Handle("GET", "/metrics", ops::PathMatch::kExact,
                       [&metrics](const ops::OpsRequest&, ops::Reply reply) {
                         reply.Respond({200, metrics::kScrapeContentType, {}, metrics.Scrape()});
                       });
}

}  // namespace hart
