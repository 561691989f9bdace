#include "broker/feed/feed_cursor.h"

#include <utility>

namespace hart::feed {

absl::StatusOr<std::vector<CursorEvent>> FeedCursor::NextPage() {
  std::vector<CursorEvent> page;
  if (redelivering_) {
    auto entries = store_.ReadUnreceivedFeed(agency_id_, redelivery_position_,
                                             resume_after_, page_size_);
    if (!entries.ok()) return entries.status();
    if (!entries->empty()) {
      redelivery_position_ = entries->back().sequence;
      for (auto& e : *entries) page.push_back({std::move(e), true});
      return page;
    }
    redelivering_ = false;
  }
  if (auto kept = NextPageFromTail()) return std::move(*kept);
  auto entries = store_.ReadFeed(agency_id_, position_, page_size_);
  if (!entries.ok()) return entries.status();
  for (auto& e : *entries) {
    position_ = e.sequence;
    page.push_back({std::move(e), false});
  }
  return page;
}

std::optional<std::vector<CursorEvent>> FeedCursor::NextPageFromTail() {
  if (redelivering_ || tail_ == nullptr) return std::nullopt;
  auto kept = tail_->After(agency_id_, position_, page_size_);
  if (kept.has_value()) position_ = kept->back().entry.sequence;
  return kept;
}

}  // namespace hart::feed
