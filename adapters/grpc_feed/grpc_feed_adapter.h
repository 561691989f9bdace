// The `grpc_feed` adapter: a delivery is "sent" by appending it durably to
// its agency's feed (a per-agency sequence in the store); the partner reads
// the feed with FeedService.Subscribe and acknowledges RECEIVED, which
// makes the delivery DELIVERED. Appends from all agencies share one
// group-committed transaction per batch. The feed itself (appender,
// cursor, hub, FeedService) is broker/feed/; this is only its adapter.
//
// Settings: none yet (an empty mapping); unknown settings are errors.
#pragma once

#include <memory>

#include "broker/adapter_registry.h"
#include "broker/feed/feed_appender.h"

namespace hart::grpc_feed {

inline constexpr char kAdapterType[] = "grpc_feed";

class GrpcFeedAdapterFactory final : public AdapterFactory {
 public:
  // `appender` must outlive every adapter built; nullptr makes a factory
  // that only validates settings (for --check-config).
  explicit GrpcFeedAdapterFactory(feed::FeedAppender* appender) : appender_(appender) {}
  std::string_view type() const override { return kAdapterType; }
  absl::Status ValidateSettings(const google::protobuf::Struct& settings) const override;
  bool feeds_from_store() const override { return true; }
  absl::StatusOr<std::unique_ptr<Adapter>> Create(
      const std::string& agency_id, const google::protobuf::Struct& settings,
      const AdapterContext& context) const override;

 private:
  feed::FeedAppender* appender_;
};

}  // namespace hart::grpc_feed
