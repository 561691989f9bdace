// One event as a feed cursor yields it to a subscription.
#pragma once

#include <memory>

#include "broker/records.h"

namespace hart::feed {

struct CursorEvent {
  FeedEntry entry;
  bool redelivery = false;
  // Set when the event came from the feeds' tail (feed_tail.h): the intake
  // in the clear, shared with the referral's other agencies' events;
  // `entry.intake` is then empty.
  std::shared_ptr<const v1::Intake> opened_intake;

  const v1::Intake& intake() const { return opened_intake ? *opened_intake : entry.intake; }
};

}  // namespace hart::feed
