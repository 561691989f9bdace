// What the dashboard's pages read and act through: the same supervisor
// operations as the gRPC SupervisorService, run on the store executor.
#pragma once

#include "broker/api/supervisor_operations.h"
#include "broker/common/topic_hub.h"
#include "broker/store.h"
#include "broker/store/store_executor.h"

namespace hart::dashboard {

// Every pointer must outlive the executor's queued tasks (they use them).
struct DashboardServices {
  SupervisorOperations* operations = nullptr;
  StoreExecutor* executor = nullptr;
  Store* store = nullptr;               // escalations replayed after a reconnect
  TopicHub* escalation_hub = nullptr;   // announces new escalation steps
};

}  // namespace hart::dashboard
