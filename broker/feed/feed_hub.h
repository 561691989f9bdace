// The feed's wake-up hub: a TopicHub whose topics are agency ids. Only
// "agency X's feed is now at sequence N" travels through it; subscribers
// fetch the events themselves (FeedCursor: the tail, else the store).
#pragma once

#include <span>

#include "broker/common/topic_hub.h"
#include "absl/status/statusor.h"
#include "broker/write_batch.h"

namespace hart::feed {

using FeedHub = ::hart::TopicHub;

// Wakes each agency's subscribers once for a committed batch of the writer
// queue, with the agency's highest new sequence: one wake per agency per
// batch, however many of its deliveries the batch put on its feed (feed
// appends, and intakes whose deliveries went on feeds in their own
// transaction: see FeedPlacement). Items refused on their own are skipped.
void PublishHeads(FeedHub& hub, std::span<const absl::StatusOr<WriteResult>> committed);

}  // namespace hart::feed
