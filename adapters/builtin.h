// The built-in adapter types, registered explicitly by the composition root.
#pragma once

#include "absl/status/status.h"
#include "broker/adapter_registry.h"

namespace hart {

namespace feed {
class FeedAppender;
}
namespace adapters {
class AdapterIo;
}

// What the built-in adapters need from the broker.
struct BuiltinAdapterDeps {
  // nullptr: grpc_feed factory is registered for config validation only.
  feed::FeedAppender* feed_appender = nullptr;
  // The push adapters' event loop; nullptr: their factories are registered
  // for config validation only (callers must not Create adapters).
  adapters::AdapterIo* io = nullptr;
};

// grpc_feed, webhook, ncmec, email, file_drop.
absl::Status RegisterBuiltinAdapters(AdapterRegistry& registry,
                                     const BuiltinAdapterDeps& deps);

}  // namespace hart
