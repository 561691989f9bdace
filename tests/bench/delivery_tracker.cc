#include "tests/bench/delivery_tracker.h"

#include <algorithm>

namespace hart::bench {

DeliveryTracker::DeliveryTracker(std::vector<std::string> feed_agency_ids)
    : feed_agency_ids_(feed_agency_ids.begin(), feed_agency_ids.end()) {}

void DeliveryTracker::OnReceipt(uint64_t index, BenchClock::time_point start, bool measured,
                                const referral::v1::Receipt& receipt) {
  std::vector<const referral::v1::Destination*> on_feeds;
  for (const auto& destination : receipt.destinations()) {
    if (feed_agency_ids_.count(destination.agency_id()) > 0) on_feeds.push_back(&destination);
  }
  const auto push_destinations = static_cast<uint64_t>(receipt.destinations_size()) -
                                 static_cast<uint64_t>(on_feeds.size());
  std::lock_guard<std::mutex> lock(mu_);
  if (measured) push_excluded_ += push_destinations;
  if (on_feeds.empty() && push_destinations > 0) {
    if (measured) ++push_only_intakes_;
    return;
  }
  Pending& p = pending_[index];
  p.start = start;
  p.last_arrival = BenchClock::now();  // a receipt with no destination is delivered now
  p.measured = measured;
  p.remaining = static_cast<int>(on_feeds.size());
  if (measured) {
    ++intakes_;
    expected_ += on_feeds.size();
  }
  if (p.remaining == 0) {
    p.remaining = 1;
    ArrivedLocked(index, p.last_arrival);
    return;
  }
  for (const auto* destination : on_feeds) {
    const std::string& id = destination->delivery_id();
    if (auto early = early_.find(id); early != early_.end()) {
      const auto arrived = early->second;
      early_.erase(early);
      seen_.insert(id);
      if (measured) ++arrived_;
      ArrivedLocked(index, arrived);
    } else {
      awaited_.emplace(id, index);
    }
  }
}

void DeliveryTracker::OnDeliveryEvent(const std::string& delivery_id,
                                      BenchClock::time_point arrived) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = awaited_.find(delivery_id); it != awaited_.end()) {
    const uint64_t index = it->second;
    awaited_.erase(it);
    seen_.insert(delivery_id);
    if (auto p = pending_.find(index); p != pending_.end() && p->second.measured) ++arrived_;
    ArrivedLocked(index, arrived);
    return;
  }
  if (seen_.count(delivery_id) > 0 || early_.count(delivery_id) > 0) {
    ++repeats_;
    return;
  }
  early_.emplace(delivery_id, arrived);
}

void DeliveryTracker::ArrivedLocked(uint64_t index, BenchClock::time_point arrived) {
  auto it = pending_.find(index);
  if (it == pending_.end()) return;
  Pending& p = it->second;
  p.last_arrival = std::max(p.last_arrival, arrived);
  if (--p.remaining > 0) return;
  if (p.measured) {
    ++delivered_;
    delivered_intakes_.push_back(
        {p.start,
         std::chrono::duration_cast<std::chrono::nanoseconds>(p.last_arrival - p.start).count()});
  }
  pending_.erase(it);
  if (pending_.empty()) all_delivered_.notify_all();
}

bool DeliveryTracker::WaitAllDelivered(BenchClock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  return all_delivered_.wait_until(lock, deadline, [&] { return pending_.empty(); });
}

DeliveryTracker::Summary DeliveryTracker::Summarize() const {
  std::lock_guard<std::mutex> lock(mu_);
  Summary s;
  s.intakes = intakes_;
  s.delivered = delivered_;
  s.deliveries_expected = expected_;
  s.deliveries_arrived = arrived_;
  s.push_destinations_excluded = push_excluded_;
  s.push_only_intakes = push_only_intakes_;
  s.repeats = repeats_;
  s.foreign = early_.size();
  std::vector<int64_t> latencies_ns;
  latencies_ns.reserve(delivered_intakes_.size());
  for (const Lifetime& d : delivered_intakes_) latencies_ns.push_back(d.latency_ns);
  s.latency = hart::bench::Summarize(latencies_ns);
  return s;
}

std::vector<Lifetime> DeliveryTracker::DeliveredLifetimes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return delivered_intakes_;
}

}  // namespace hart::bench
