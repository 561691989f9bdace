// The feed's wake-up hub: a TopicHub whose topics are agency ids. Only
// "agency X's feed is now at sequence N" travels through it; subscribers
// read the events themselves from the store (FeedCursor).
#pragma once

#include <span>

#include "broker/common/topic_hub.h"
#include "broker/records.h"

namespace hart::feed {

using FeedHub = ::hart::TopicHub;

// Wakes each agency's subscribers once for a committed batch of appends,
// with the agency's highest new sequence: one wake per agency per batch,
// however many of its deliveries the batch put on its feed.
void PublishHeads(FeedHub& hub, std::span<const FeedAppendResult> appended);

// The same for a batch of intake transactions (their feed_appends: see
// FeedPlacement).
void PublishHeads(FeedHub& hub, std::span<const CreateReferralResult> committed);

}  // namespace hart::feed
