// The "append in the intake's own transaction" rule. A new delivery to an
// agency whose adapter's transport is the broker's own feed
// (AdapterFactory::feeds_from_store: grpc_feed) needs no dispatcher: the
// intake stores it IN_FLIGHT, attempted once, and puts it on the feed in the
// very transaction that creates it (NewReferral::feed_appends), so there is
// no separate claim or append and nothing is lost between the two. After
// the commit the server wakes the agencies' subscribers (PublishHeads).
//
// Only the intake applies it: deliveries a supplement or a timer adds to a
// stored referral stay PENDING and reach the feed through the dispatcher
// and the grpc_feed adapter (FeedAppender).
//
// Thread safety: immutable after construction; safe to share.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "absl/time/time.h"
#include "broker/adapter_registry.h"
#include "broker/records.h"
#include "hart/config/v1/broker_config.pb.h"

namespace hart::feed {

class FeedPlacement {
 public:
  // Places nothing: every delivery goes through the dispatcher.
  FeedPlacement() = default;
  explicit FeedPlacement(std::set<std::string> feed_agencies)
      : agencies_(std::move(feed_agencies)) {}

  // The agencies of `config` whose adapter type feeds from the store, as
  // `registry` says. A type `registry` does not know places nothing (the
  // server refuses such a config before it asks).
  static FeedPlacement ForConfig(const config::v1::BrokerConfig& config,
                                 const AdapterRegistry& registry);

  bool OnFeed(const std::string& agency_id) const { return agencies_.count(agency_id) > 0; }

  // A new delivery whose agency reads its feed is marked sent (IN_FLIGHT,
  // attempt 1 at `now`) and the append that puts it on the feed in the same
  // transaction is returned. Any other delivery is left as it is (PENDING,
  // for the dispatcher): nullopt.
  std::optional<FeedAppend> Place(DeliveryRecord& delivery, absl::Time now) const;

 private:
  std::set<std::string> agencies_;
};

// The append that puts `delivery` on `agency_id`'s feed as its attempt
// `delivery.attempts`, with the broker's "delivery.sent" audit event at
// `at` (absl::Time() when the FeedAppender stamps it as it queues). Shared by
// the intake's placement and the grpc_feed adapter, so both audit alike.
FeedAppend SentOnFeed(const DeliveryRecord& delivery, const std::string& agency_id,
                      const std::string& adapter_type, absl::Time at);

}  // namespace hart::feed
