#include "broker/feed/feed_cursor.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/common/status_macros.h"

namespace hart::feed {

absl::Status FeedCursor::CheckResumePoint() {
  if (resume_after_ == 0) return absl::OkStatus();
  HART_ASSIGN_OR_RETURN(head, store_.FeedHead(agency_id_));
  if (resume_after_ <= head) return absl::OkStatus();
  return absl::OutOfRangeError(absl::StrCat(
      "resume_after ", resume_after_, " is past the last event on this feed (", head,
      "): the broker's store is older than the events you processed (restored from a "
      "backup?); subscribe again with resume_after ", head,
      " or less, and skip deliveries you already hold by their delivery_id"));
}

absl::StatusOr<std::vector<CursorEvent>> FeedCursor::NextPage() {
  if (!head_checked_) {
    HART_RETURN_IF_ERROR(CheckResumePoint());
    head_checked_ = true;
  }
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
