// The referrals sealed lately, for feed subscriptions that hold events
// built before a seal. A subscription builds a page of events (the intake
// in the clear, trimmed to the agency's view) and then writes them one at
// a time, as fast as its partner reads: a slow partner could otherwise be
// sent a referral's facts long after a court order sealed it. Each seal is
// noted twice, when it starts (before its write: a page read then may
// still find the referral unsealed) and when it is written; a page
// remembers the generation before it was read, and before each of its
// events is written the subscription asks which referrals were noted
// since.
//
// Thread safety: every method may be called from any thread; generation()
// is lock-free (asked before every write of a buffered event).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "hart/referral/v1/feed.pb.h"

namespace hart::feed {

class RecentSeals {
 public:
  // Notes beyond this many are forgotten (a page older than them is
  // treated as if it held a sealed referral).
  static constexpr size_t kKept = 1024;

  // A seal of `referral_id` starts, or was written: moves the generation.
  void Note(const std::string& referral_id);
  // How many notes so far.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  // The referrals noted after `generation`; nullopt when some of those
  // notes were forgotten.
  std::optional<std::vector<std::string>> NotedSince(uint64_t generation) const;

 private:
  mutable absl::Mutex mu_;
  std::atomic<uint64_t> generation_{0};  // written under mu_
  std::deque<std::pair<uint64_t, std::string>> notes_ ABSL_GUARDED_BY(mu_);
};

// Whether any of `events` carries facts (an intake) of a referral `seals`
// noted after `generation`; true as well when those notes were forgotten.
bool CarriesFactsSealedSince(const RecentSeals& seals, uint64_t generation,
                             const std::deque<referral::v1::FeedEvent>& events);

}  // namespace hart::feed
