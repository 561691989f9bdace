// What a feed subscriber is sent, in order: first (flagged as redelivery)
// the events at or before `resume_after` whose delivery was sent but never
// acknowledged RECEIVED, then every event after `resume_after`. Reads the
// store a page at a time, so a subscriber holds at most one page; the
// events after `resume_after` come from the feeds' tail (feed_tail.h) when
// it holds the next one.
//
// Not thread-safe: one cursor per subscription, used by one thread at a
// time. NextPage reads the store (blocking): FeedService calls it on the
// store executor, one read at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/feed/cursor_event.h"
#include "broker/feed/feed_tail.h"
#include "broker/store.h"

namespace hart::feed {

class FeedCursor {
 public:
  // `store` and `tail` (may be null: every page from the store) must
  // outlive the cursor.
  FeedCursor(Store& store, std::string agency_id, uint64_t resume_after, size_t page_size,
             FeedTail* tail = nullptr)
      : store_(store),
        tail_(tail),
        agency_id_(std::move(agency_id)),
        resume_after_(resume_after),
        position_(resume_after),
        page_size_(page_size == 0 ? 1 : page_size) {}

  // The next page; empty when caught up (call again after the feed grows).
  // OUT_OF_RANGE at the first call when `resume_after` is past the feed's
  // head: the partner holds sequences this store never committed (it was
  // restored from an older backup, or the cursor is another broker's), and
  // the events appended next would reuse them unseen.
  absl::StatusOr<std::vector<CursorEvent>> NextPage();
  // The next page when the tail holds it (memory only: it never blocks, so
  // it may run on any thread, though never beside NextPage); nullopt when
  // it must be read (NextPage) or the cursor is still sending its
  // redeliveries.
  std::optional<std::vector<CursorEvent>> NextPageFromTail();

  uint64_t resume_after() const { return resume_after_; }
  // The last sequence returned in order (not counting redeliveries).
  uint64_t position() const { return position_; }
  // Still sending the redeliveries before `resume_after`.
  bool redelivering() const { return redelivering_; }

 private:
  absl::Status CheckResumePoint();

  Store& store_;
  FeedTail* const tail_;
  const std::string agency_id_;
  const uint64_t resume_after_;
  bool head_checked_ = false;
  bool redelivering_ = true;
  uint64_t redelivery_position_ = 0;
  uint64_t position_;
  const size_t page_size_;
};

}  // namespace hart::feed
