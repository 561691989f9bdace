// The referrals sealed lately, for feed subscriptions that hold events
// built before a seal. A subscription builds a page of events (the intake
// in the clear, trimmed to the agency's view) and then writes them one at
// a time, as fast as its partner reads: a slow partner could otherwise be
// sent a referral's facts long after a court order sealed it. Each seal is
// noted when it begins (before its write) and when it ends (after its
// write, whatever the outcome: a failed commit may still have committed).
// A page remembers the read floor before it was read: the generation
// before the oldest seal still under way began, since a page read then may
// find that referral not yet sealed. Before each of its events is written,
// the subscription asks which referrals were noted since.
//
// Thread safety: every method may be called from any thread; generation()
// and ReadFloor() are lock-free (asked for every page and every write).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
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

  // A seal of `referral_id` begins / ended: each moves the generation.
  void Begin(const std::string& referral_id);
  void End(const std::string& referral_id);
  // Any referral may have been sealed (another replica's hints were lost):
  // every page read before now is treated as holding one.
  void ForgetAll();
  // How many notes so far.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  // What a page about to be read must be checked from: the generation, or
  // the one before the oldest seal under way began.
  uint64_t ReadFloor() const { return floor_.load(std::memory_order_acquire); }
  // The referrals noted after `generation`; nullopt when some of those
  // notes were forgotten.
  std::optional<std::vector<std::string>> NotedSince(uint64_t generation) const;

 private:
  void NoteLocked(const std::string& referral_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::atomic<uint64_t> generation_{0};  // written under mu_
  std::atomic<uint64_t> floor_{0};       // written under mu_
  std::deque<std::pair<uint64_t, std::string>> notes_ ABSL_GUARDED_BY(mu_);
  // Seals under way: the generation each began at, and its referral.
  std::multimap<uint64_t, std::string> under_way_ ABSL_GUARDED_BY(mu_);
};

// Whether any of `events` carries facts (an intake) of a referral `seals`
// noted after `generation`, or any facts at all when those notes were
// forgotten.
bool CarriesFactsSealedSince(const RecentSeals& seals, uint64_t generation,
                             const std::deque<referral::v1::FeedEvent>& events);
bool CarriesFactsSealedSince(const RecentSeals& seals, uint64_t generation,
                             const referral::v1::FeedEvent& event);

}  // namespace hart::feed
