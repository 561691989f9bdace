#include "adapters/builtin.h"

#include "adapters/grpc_feed/grpc_feed_adapter.h"

namespace hart {


absl::Status RegisterBuiltinAdapters(AdapterRegistry& registry,
                                     const BuiltinAdapterDeps& deps) {
  return registry.Register(
      std::make_unique<grpc_feed::GrpcFeedAdapterFactory>(deps.feed_appender));
}

}  // namespace hart
