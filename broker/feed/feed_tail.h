// The tail of each agency's feed as this broker's commits wrote it, kept in
// memory so that a caught-up subscriber is sent the next events without
// reading them back from the store and opening their intake again, once per
// agency (an intake goes on five or six feeds).
//
// Kept: the events new intakes put on feeds in their own transaction, whose
// intake is at hand (NewReferral::opened_intake). Each agency's kept events
// are consecutive sequences, so a cursor at position p is served from here
// only when the tail holds p + 1, and then with what the store holds. An
// append the tail cannot keep (the dispatcher's, or one of another
// replica's that leaves a gap) starts that agency's tail afresh; a committed
// change to a stored referral or an escalation step empties it, and so does
// a seal, which the sealer writes outside the writer queue: it calls Clear
// before writing, once Remember has been called for every commit the queue
// made before the seal began (WriteQueue::AwaitAfterCommits), so that no
// intake it seals is served in the clear from here afterwards; events past
// `max_age` or beyond `capacity` are dropped.
//
// Thread safety: safe to use concurrently. Remember must be called in
// commit order (the writer queue's after-commit hook).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/clock.h"
#include "broker/feed/cursor_event.h"
#include "broker/write_batch.h"

namespace hart::feed {

struct FeedTailOptions {
  // Events kept across all agencies.
  size_t capacity = 4096;
  // An event kept longer is read from the store instead.
  absl::Duration max_age = absl::Seconds(10);
};

class FeedTail {
 public:
  // `clock` must outlive the tail.
  explicit FeedTail(const Clock& clock, FeedTailOptions options = {});

  // After a committed batch of the writer queue: its requests and results.
  void Remember(std::span<const WriteRequest> requests,
                std::span<const absl::StatusOr<WriteResult>> results);

  // The events after `position` on `agency_id`'s feed, at most `limit` and
  // at least one, when the tail holds the event at `position` + 1;
  // nullopt when it does not (read the store).
  std::optional<std::vector<CursorEvent>> After(const std::string& agency_id, uint64_t position,
                                                size_t limit);

  // Forgets every kept event: for a write that changes what a stored
  // intake may show without passing the writer queue (a seal, Sealer).
  void Clear();

  // Events kept now.
  size_t size() const;

 private:
  struct Kept {
    std::string agency_id;
    uint64_t sequence = 0;
    absl::Time kept_at;
  };

  void RememberIntake(const NewReferral* item, const CreateReferralResult& created,
                      absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void KeepLocked(const std::string& agency_id, CursorEvent event, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DropAgencyLocked(const std::string& agency_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EvictLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ClearLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock& clock_;
  const FeedTailOptions options_;
  mutable absl::Mutex mu_;
  std::map<std::string, std::deque<CursorEvent>> by_agency_ ABSL_GUARDED_BY(mu_);
  // Every event kept, oldest first, across agencies: the order of eviction.
  // An entry whose event went with its agency's tail is skipped then.
  std::deque<Kept> order_ ABSL_GUARDED_BY(mu_);
  size_t size_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace hart::feed
