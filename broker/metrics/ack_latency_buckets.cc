#include "broker/metrics/ack_latency_buckets.h"

#include <set>

#include "broker/common/time_util.h"

namespace hart::metrics {

std::vector<double> AckLatencyBuckets(const ::hart::config::v1::BrokerConfig& config) {
  std::set<double> bounds;
  for (absl::Duration d : {absl::Minutes(1), absl::Minutes(5), absl::Minutes(15),
                           absl::Minutes(30), absl::Hours(1), absl::Hours(2), absl::Hours(4),
                           absl::Hours(8), absl::Hours(12), absl::Hours(24), absl::Hours(48),
                           absl::Hours(72)}) {
    bounds.insert(absl::ToDoubleSeconds(d));
  }
  for (const auto& rule : config.rules()) {
    for (const auto& destination : rule.destinations()) {
      for (const auto* deadline :
           {&destination.ack_deadline_normal(), &destination.ack_deadline_urgent()}) {
        const absl::Duration d = FromProtoDuration(*deadline);
        if (d > absl::ZeroDuration()) bounds.insert(absl::ToDoubleSeconds(d));
      }
    }
  }
  return {bounds.begin(), bounds.end()};
}

}  // namespace hart::metrics
