// What the metrics read from the running broker's memory (no store, no
// I/O) at each refresh: the store executor's queue, the push destinations'
// health (circuit breakers) and the feed streams open.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "broker/adapter_health.h"

namespace hart::metrics {

struct RuntimeSample {
  // StoreExecutor::queue_length(), capacity(), refused().
  size_t executor_queue_length = 0;
  size_t executor_capacity = 0;
  uint64_t executor_refused = 0;
  // AdapterHealthSource::AllHealth(): one per guarded push destination.
  std::vector<AdapterHealth> push_destinations;
  // FeedServiceImpl::SubscriberCounts(): open streams by agency id.
  std::map<std::string, size_t> feed_subscribers;
};

}  // namespace hart::metrics
