// The WatchEscalations stream: replays escalation events after the
// subscriber's cursor from the store, a page at a time, then follows live
// ones as the hub announces them. Bounded memory per watcher. Pages are read
// on the store executor: gRPC and hub threads never wait for the store.
#pragma once

#include <functional>

#include "broker/common/drain_signal.h"
#include "broker/common/topic_hub.h"
#include "broker/store.h"
#include "broker/store/store_executor.h"
#include "grpcpp/support/server_callback.h"
#include "hart/referral/v1/supervisor.pb.h"

namespace hart {

inline constexpr char kEscalationTopic[] = "escalations";

v1::EscalationEvent ToApiEscalation(const EscalationRecord& record);

// Creates a self-deleting reactor streaming escalations after `resume_after`;
// it ends with ShuttingDown() when `drain` fires; `on_done` runs when the
// stream ends. `store`, `executor`, `hub` and `drain` must outlive every
// stream (shut the server down and drain the executor first).
grpc::ServerWriteReactor<v1::EscalationEvent>* StartEscalationWatch(
    Store& store, StoreExecutor& executor, TopicHub& hub, DrainSignal& drain,
    uint64_t resume_after, std::function<void()> on_done);

}  // namespace hart
