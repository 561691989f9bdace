// What a seal's beginning does to what this broker holds of a referral's
// facts in memory, for a seal made here or committed by another replica:
// once the writer queue's hook has seen every commit made so far (the
// referral's own may still be to come: the seal writes outside the queue),
// the feeds' tail is emptied, the seal noted for subscriptions holding
// pages built earlier (recent_seals.h), and the streams writing its facts
// at that moment ended. May wait for the batch being
// written: never on the writer queue's threads.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "broker/feed/feed_tail.h"
#include "broker/feed/recent_seals.h"
#include "broker/store/write_queue.h"

namespace hart::feed {

struct SealWatchers {
  WriteQueue* writes;
  FeedTail* tail;
  RecentSeals* seals;
  // Then, once the seals are noted: end the feed streams whose write in
  // progress carries their facts (FeedServiceImpl::CancelWritesOfSealedFacts).
  // Empty: none.
  std::function<void()> cancel_writes_in_flight;
};

// Seals of `referral_ids` begin (RecentSeals::Begin for each).
void SealsBegin(const SealWatchers& watchers, const std::vector<std::string>& referral_ids);
// Any referral may have been sealed (another replica's notices were lost).
void AnySealMayHaveBegun(const SealWatchers& watchers);

}  // namespace hart::feed
