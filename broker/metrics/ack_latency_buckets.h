// The bucket bounds of hart_ack_latency_seconds: every ack deadline the
// policy states (normal and urgent, of every rule's destinations), so that
// "acknowledged within its deadline" is one bucket, and a fixed ladder from
// one minute to three days between them for percentiles.
#pragma once

#include <vector>

#include "hart/config/v1/broker_config.pb.h"

namespace hart::metrics {

// Ascending, without repeats, in seconds.
std::vector<double> AckLatencyBuckets(const ::hart::config::v1::BrokerConfig& config);

}  // namespace hart::metrics
