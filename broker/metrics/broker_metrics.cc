#include "broker/metrics/broker_metrics.h"

#include "broker/metrics/ack_latency_buckets.h"
#include "prometheus/gauge.h"
#include "prometheus/text_serializer.h"

namespace hart::metrics {

BrokerMetricsOptions BrokerMetricsOptions::ForConfig(
    const ::hart::config::v1::BrokerConfig& config) {
  BrokerMetricsOptions options;
  options.version = HART_VERSION;
  options.policy_version = config.policy_version();
  options.store_backend = config.store().backend();
  options.ack_latency_buckets = AckLatencyBuckets(config);
  return options;
}

BrokerMetrics::BrokerMetrics(const BrokerMetricsOptions& options)
    : events_(registry_, options.ack_latency_buckets), gauges_(registry_) {
  prometheus::BuildGauge()
      .Name("hart_build_info")
      .Help("Always 1; the labels name the broker's version, the policy's version and the "
            "store backend.")
      .Register(registry_)
      .Add({{"version", options.version},
            {"policy_version", options.policy_version},
            {"store_backend", options.store_backend}})
      .Set(1);
}

std::string BrokerMetrics::Scrape() const {
  return prometheus::TextSerializer().Serialize(registry_.Collect());
}

}  // namespace hart::metrics
