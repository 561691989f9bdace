#include "broker/feed/recent_seals.h"

#include <algorithm>
#include <span>

namespace hart::feed {

void RecentSeals::Begin(const std::string& referral_id) {
  absl::MutexLock lock(&mu_);
  NoteLocked(referral_id);
  under_way_.emplace(generation_.load(std::memory_order_relaxed), referral_id);
  floor_.store(under_way_.begin()->first - 1, std::memory_order_release);
}

void RecentSeals::End(const std::string& referral_id) {
  absl::MutexLock lock(&mu_);
  NoteLocked(referral_id);
  for (auto it = under_way_.begin(); it != under_way_.end(); ++it) {
    if (it->second != referral_id) continue;
    under_way_.erase(it);
    break;
  }
  floor_.store(under_way_.empty() ? generation_.load(std::memory_order_relaxed)
                                  : under_way_.begin()->first - 1,
               std::memory_order_release);
}

void RecentSeals::ForgetAll() {
  absl::MutexLock lock(&mu_);
  notes_.clear();
  const uint64_t generation = generation_.load(std::memory_order_relaxed) + 1;
  generation_.store(generation, std::memory_order_release);
  floor_.store(under_way_.empty() ? generation : under_way_.begin()->first - 1,
               std::memory_order_release);
}

void RecentSeals::NoteLocked(const std::string& referral_id) {
  const uint64_t generation = generation_.load(std::memory_order_relaxed) + 1;
  notes_.emplace_back(generation, referral_id);
  if (notes_.size() > kKept) notes_.pop_front();
  generation_.store(generation, std::memory_order_release);
}

std::optional<std::vector<std::string>> RecentSeals::NotedSince(uint64_t generation) const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> referral_ids;
  if (generation >= generation_.load(std::memory_order_relaxed)) return referral_ids;
  // The first note after `generation` must still be kept.
  if (notes_.empty() || notes_.front().first > generation + 1) return std::nullopt;
  for (const auto& [noted_at, referral_id] : notes_) {
    if (noted_at > generation) referral_ids.push_back(referral_id);
  }
  return referral_ids;
}

namespace {

// `events`: any range of FeedEvent.
template <typename Events>
bool AnyCarriesFactsSealedSince(const RecentSeals& seals, uint64_t generation,
                                const Events& events) {
  if (seals.generation() == generation) return false;
  // nullopt: the notes since were forgotten, so any referral may be sealed.
  const std::optional<std::vector<std::string>> sealed = seals.NotedSince(generation);
  return std::any_of(events.begin(), events.end(), [&](const referral::v1::FeedEvent& event) {
    const referral::v1::ReferralView& view = event.delivery().referral();
    if (!view.has_intake()) return false;
    return !sealed || std::find(sealed->begin(), sealed->end(), view.referral_id()) !=
                          sealed->end();
  });
}

}  // namespace

bool CarriesFactsSealedSince(const RecentSeals& seals, uint64_t generation,
                             const std::deque<referral::v1::FeedEvent>& events) {
  return AnyCarriesFactsSealedSince(seals, generation, events);
}

bool CarriesFactsSealedSince(const RecentSeals& seals, uint64_t generation,
                             const referral::v1::FeedEvent& event) {
  return AnyCarriesFactsSealedSince(seals, generation,
                                    std::span<const referral::v1::FeedEvent>(&event, 1));
}

}  // namespace hart::feed
