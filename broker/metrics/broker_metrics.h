// Every Prometheus metric of the broker, in one registry: what happens
// (EventMetrics, the components' observers), the broker's state
// (StateGauges, refreshed by OpsRefresher) and hart_build_info. Scrape()
// is the text exposition format that /metrics serves. The families and
// their labels are listed in README.md ("Metrics").
//
// Thread safety: every method may be called from any thread. Scrape reads
// memory only (no store, no I/O), so an HTTP I/O thread may call it.
// Lifetime: create it before the components that observe into it and
// destroy it after them (and after whatever serves Scrape).
#pragma once

#include <string>
#include <vector>

#include "broker/metrics/event_metrics.h"
#include "broker/metrics/state_gauges.h"
#include "hart/config/v1/broker_config.pb.h"
#include "prometheus/registry.h"

namespace hart::metrics {

struct BrokerMetricsOptions {
  // hart_build_info's labels: the broker's version, the policy's
  // policy_version and the store backend's name.
  std::string version;
  std::string policy_version;
  std::string store_backend;
  // Bucket bounds of hart_ack_latency_seconds, ascending, in seconds.
  std::vector<double> ack_latency_buckets;

  // This build's version, and the policy's version, backend and ack
  // deadlines (AckLatencyBuckets).
  static BrokerMetricsOptions ForConfig(const ::hart::config::v1::BrokerConfig& config);
};

class BrokerMetrics {
 public:
  explicit BrokerMetrics(const BrokerMetricsOptions& options);
  BrokerMetrics(const BrokerMetrics&) = delete;
  BrokerMetrics& operator=(const BrokerMetrics&) = delete;

  // The observers to hand to the components.
  EventMetrics& events() { return events_; }
  // What OpsRefresher sets.
  StateGauges& gauges() { return gauges_; }

  // Every family in the Prometheus text exposition format (version 0.0.4).
  std::string Scrape() const;

 private:
  prometheus::Registry registry_;
  EventMetrics events_;
  StateGauges gauges_;
};

// The Content-Type of Scrape()'s text.
inline constexpr char kScrapeContentType[] = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace hart::metrics
