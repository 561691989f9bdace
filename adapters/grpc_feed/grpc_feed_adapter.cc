#include "adapters/grpc_feed/grpc_feed_adapter.h"

#include "absl/strings/str_cat.h"
#include "broker/feed/feed_placement.h"
#include "broker/feed/feed_reference.h"

namespace hart::grpc_feed {
namespace {

class GrpcFeedAdapter final : public Adapter {
 public:
  GrpcFeedAdapter(std::string agency_id, feed::FeedAppender& appender)
      : agency_id_(std::move(agency_id)), appender_(appender) {}

  std::string_view type() const override { return kAdapterType; }

  void Deliver(const DeliveryRecord& delivery, DoneCallback done) override {
    // Stamped with the time its batch commits.
    appender_.Append(feed::SentOnFeed(delivery, agency_id_, kAdapterType, absl::Time()),
                     [done = std::move(done)](absl::StatusOr<FeedAppendResult> result) {
                       if (!result.ok()) {
                         // A store hiccup: the dispatcher retries later.
                         done(DeliveryResult::Failed(absl::UnavailableError(absl::StrCat(
                             "feed append failed: ", result.status().message()))));
                         return;
                       }
                       done(DeliveryResult::HandedOff(
                           feed::FormatReference(result->agency_id, result->sequence)));
                     });
  }

 private:
  const std::string agency_id_;
  feed::FeedAppender& appender_;
};

}  // namespace

absl::Status GrpcFeedAdapterFactory::ValidateSettings(
    const google::protobuf::Struct& settings) const {
  for (const auto& [key, value] : settings.fields()) {
    return absl::InvalidArgumentError(
        absl::StrCat("grpc_feed has no setting '", key, "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Adapter>> GrpcFeedAdapterFactory::Create(
    const std::string& agency_id, const google::protobuf::Struct& settings,
    const AdapterContext& context) const {
  if (auto s = ValidateSettings(settings); !s.ok()) return s;
  if (appender_ == nullptr) {
    return absl::FailedPreconditionError("grpc_feed factory was built without a feed appender");
  }
  return std::unique_ptr<Adapter>(new GrpcFeedAdapter(agency_id, *appender_));
}

}  // namespace hart::grpc_feed
