#include "broker/feed/feed_placement.h"

#include "absl/strings/str_cat.h"

namespace hart::feed {

FeedPlacement FeedPlacement::ForConfig(const config::v1::BrokerConfig& config,
                                       const AdapterRegistry& registry) {
  std::set<std::string> agencies;
  for (const auto& agency : config.agencies()) {
    const AdapterFactory* factory = registry.Find(agency.adapter().type());
    if (factory != nullptr && factory->feeds_from_store()) agencies.insert(agency.id());
  }
  return FeedPlacement(std::move(agencies));
}

std::optional<FeedAppend> FeedPlacement::Place(DeliveryRecord& delivery, absl::Time now) const {
  if (!OnFeed(delivery.agency_id)) return std::nullopt;
  delivery.state = v1::IN_FLIGHT;
  delivery.attempts = 1;
  delivery.last_attempt_at = now;
  return SentOnFeed(delivery, delivery.agency_id, delivery.adapter_type, now);
}

FeedAppend SentOnFeed(const DeliveryRecord& delivery, const std::string& agency_id,
                      const std::string& adapter_type, absl::Time at) {
  FeedAppend append;
  append.delivery_id = delivery.delivery_id;
  append.agency_id = agency_id;
  append.audit = {at, kBrokerActor, "delivery.sent", delivery.referral_id, delivery.delivery_id, "",
                  absl::StrCat("adapter=", adapter_type, " agency=", agency_id,
                               " attempt=", delivery.attempts)};
  return append;
}

}  // namespace hart::feed
