#include "broker/feed/feed_tail.h"

#include <algorithm>
#include <utility>
#include <variant>

#include "broker/feed/feed_reference.h"

namespace hart::feed {
namespace {

// Times as the store keeps them (microseconds), so that a kept event reads
// exactly as the same event read back.
absl::Time Stored(absl::Time t) { return absl::FromUnixMicros(absl::ToUnixMicros(t)); }

void ToStoredPrecision(DeliveryRecord& d) {
  for (absl::Time* t : {&d.created_at, &d.next_attempt_at, &d.ack_deadline}) *t = Stored(*t);
  for (std::optional<absl::Time>* t : {&d.delivery_deadline, &d.last_attempt_at, &d.lease_until,
                                       &d.delivered_at, &d.acknowledged_at}) {
    if (t->has_value()) **t = Stored(**t);
  }
}

const DeliveryRecord* FindDelivery(const NewReferral& item, const std::string& delivery_id) {
  for (const DeliveryRecord& d : item.deliveries) {
    if (d.delivery_id == delivery_id) return &d;
  }
  return nullptr;
}

}  // namespace

FeedTail::FeedTail(const Clock& clock, FeedTailOptions options)
    : clock_(clock), options_(options) {}

void FeedTail::Remember(std::span<const WriteRequest> requests,
                        std::span<const absl::StatusOr<WriteResult>> results) {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < results.size(); ++i) {
    if (!results[i].ok()) continue;  // refused on its own: wrote nothing
    const WriteResult& result = *results[i];
    if (const auto* created = std::get_if<CreateReferralResult>(&result)) {
      const NewReferral* item =
          i < requests.size() ? std::get_if<NewReferral>(&requests[i]) : nullptr;
      RememberIntake(item, *created, now);
    } else if (const auto* appended = std::get_if<FeedAppendResult>(&result)) {
      DropAgencyLocked(appended->agency_id);
    } else if (std::holds_alternative<ReferralChanged>(result) ||
               std::holds_alternative<EscalationApplied>(result)) {
      ClearLocked();
    }
  }
  EvictLocked(now);
}

void FeedTail::RememberIntake(const NewReferral* item, const CreateReferralResult& created,
                              absl::Time now) {
  if (created.outcome != CreateReferralResult::Outcome::kCreated) return;
  for (const FeedAppendResult& appended : created.feed_appends) {
    const DeliveryRecord* delivery =
        item == nullptr ? nullptr : FindDelivery(*item, appended.delivery_id);
    if (delivery == nullptr || item->opened_intake == nullptr || !appended.audit_index) {
      DropAgencyLocked(appended.agency_id);
      continue;
    }
    CursorEvent event;
    event.entry.sequence = appended.sequence;
    event.entry.audit_index = *appended.audit_index;
    event.entry.appended_at = Stored(item->referral.accepted_at);
    event.entry.delivery = *delivery;
    event.entry.delivery.transport_ref = FormatReference(appended.agency_id, appended.sequence);
    ToStoredPrecision(event.entry.delivery);
    event.entry.priority = item->referral.priority;
    event.opened_intake = item->opened_intake;
    KeepLocked(appended.agency_id, std::move(event), now);
  }
}

void FeedTail::KeepLocked(const std::string& agency_id, CursorEvent event, absl::Time now) {
  std::deque<CursorEvent>& run = by_agency_[agency_id];
  if (!run.empty() && run.back().entry.sequence + 1 != event.entry.sequence) {
    size_ -= run.size();  // a gap: the tail starts afresh here
    run.clear();
  }
  order_.push_back({agency_id, event.entry.sequence, now});
  run.push_back(std::move(event));
  ++size_;
}

void FeedTail::DropAgencyLocked(const std::string& agency_id) {
  auto it = by_agency_.find(agency_id);
  if (it == by_agency_.end()) return;
  size_ -= it->second.size();
  by_agency_.erase(it);
}

void FeedTail::EvictLocked(absl::Time now) {
  const absl::Time oldest_kept = now - options_.max_age;
  while (!order_.empty() &&
         (order_.size() > options_.capacity || order_.front().kept_at < oldest_kept)) {
    const Kept& kept = order_.front();
    auto it = by_agency_.find(kept.agency_id);
    if (it != by_agency_.end() && it->second.front().entry.sequence == kept.sequence) {
      it->second.pop_front();
      --size_;
      if (it->second.empty()) by_agency_.erase(it);
    }
    order_.pop_front();
  }
}

std::optional<std::vector<CursorEvent>> FeedTail::After(const std::string& agency_id,
                                                        uint64_t position, size_t limit) {
  absl::MutexLock lock(&mu_);
  EvictLocked(clock_.Now());
  auto it = by_agency_.find(agency_id);
  if (it == by_agency_.end() || limit == 0) return std::nullopt;
  const std::deque<CursorEvent>& run = it->second;
  const uint64_t first = run.front().entry.sequence;
  if (position + 1 < first || position + 1 > run.back().entry.sequence) return std::nullopt;
  const size_t from = static_cast<size_t>(position + 1 - first);
  const size_t to = std::min(run.size(), from + limit);
  return std::vector<CursorEvent>(run.begin() + static_cast<std::ptrdiff_t>(from),
                                  run.begin() + static_cast<std::ptrdiff_t>(to));
}

void FeedTail::Clear() {
  absl::MutexLock lock(&mu_);
  ClearLocked();
}

void FeedTail::ClearLocked() {
  by_agency_.clear();
  order_.clear();
  size_ = 0;
}

size_t FeedTail::size() const {
  absl::MutexLock lock(&mu_);
  return size_;
}

}  // namespace hart::feed
