#include "adapters/grpc_feed/grpc_feed_adapter.h"

#include "broker/feed/feed_reference.h"

#include "absl/strings/str_cat.h"
#include "broker/clock.h"
#include "broker/store.h"

namespace hart::grpc_feed {
namespace {

class GrpcFeedAdapter final : public Adapter {
 public:
  GrpcFeedAdapter(std::string agency_id, FeedAppender& appender)
      : agency_id_(std::move(agency_id)), appender_(appender) {}

  std::string_view type() const override { return kAdapterType; }

  void Deliver(const DeliveryRecord& delivery, DoneCallback done) override {
    FeedAppend append;
    append.delivery_id = delivery.delivery_id;
    append.agency_id = agency_id_;
    append.audit = {absl::Time(), "broker", "delivery.sent", delivery.referral_id,
                    delivery.delivery_id, "",
                    absl::StrCat("adapter=grpc_feed agency=", agency_id_,
                                 " attempt=", delivery.attempts)};
    appender_.Append(std::move(append),
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
  FeedAppender& appender_;
};

}  // namespace

FeedAppender::FeedAppender(Store& store, const Clock& clock, FeedHub& hub,
                           size_t max_batch)
    : writer_(
          [&store, &clock](std::span<const FeedAppend> batch) {
            const absl::Time now = clock.Now();
            std::vector<FeedAppend> stamped(batch.begin(), batch.end());
            for (auto& a : stamped) a.audit.at = now;
            return store.AppendToFeeds(stamped, now);
          },
          max_batch,
          [&hub](std::span<const FeedAppendResult> results) {
            // Publish each agency's new head once per batch.
            std::map<std::string, uint64_t> heads;
            for (const auto& r : results) {
              heads[r.agency_id] = std::max(heads[r.agency_id], r.sequence);
            }
            for (const auto& [agency, head] : heads) hub.Publish(agency, head);
          }) {}

void FeedAppender::Append(FeedAppend append,
                          std::function<void(absl::StatusOr<FeedAppendResult>)> done) {
  writer_.Submit(std::move(append), std::move(done));
}

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
