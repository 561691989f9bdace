#include "broker/acks/known_deliveries.h"

#include <utility>
#include <variant>

namespace hart {
namespace {

// An ack that gives the partner's business answer ends what acks do to a
// delivery: nothing is kept for one after it.
bool Finishes(v1::DeliveryState state) {
  return state == v1::ACKNOWLEDGED || state == v1::DECLINED;
}

}  // namespace

KnownDeliveries::KnownDeliveries(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

void KnownDeliveries::Remember(std::span<const WriteRequest> requests,
                               std::span<const absl::StatusOr<WriteResult>> results) {
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < results.size() && i < requests.size(); ++i) {
    if (!results[i].ok()) continue;  // refused on its own: wrote nothing
    const WriteResult& result = *results[i];
    if (const auto* created = std::get_if<CreateReferralResult>(&result)) {
      const auto* item = std::get_if<NewReferral>(&requests[i]);
      if (item == nullptr || created->outcome != CreateReferralResult::Outcome::kCreated) continue;
      for (const FeedAppendResult& appended : created->feed_appends) {
        if (!appended.audit_index) continue;  // on its feed before: not this write's
        for (const DeliveryRecord& delivery : item->deliveries) {
          if (delivery.delivery_id == appended.delivery_id) KeepLocked(delivery);
        }
      }
    } else if (std::holds_alternative<AckApplied>(result)) {
      if (const auto* ack = std::get_if<AckWrite>(&requests[i])) FollowAckLocked(*ack);
    }
  }
}

void KnownDeliveries::KeepLocked(const DeliveryRecord& delivery) {
  while (order_.size() >= capacity_) {
    by_id_.erase(order_.front());
    order_.pop_front();
  }
  by_id_[delivery.delivery_id] = {delivery.delivery_id, delivery.referral_id, delivery.agency_id,
                                  delivery.agency_kind, delivery.kind,        delivery.created_at,
                                  delivery.state};
  order_.push_back(delivery.delivery_id);
}

void KnownDeliveries::FollowAckLocked(const AckWrite& ack) {
  auto it = by_id_.find(ack.delivery_id);
  if (it == by_id_.end()) return;
  if (Finishes(ack.new_state)) {
    by_id_.erase(it);  // its id leaves order_ in its turn
  } else {
    it->second.state = ack.new_state;
  }
}

std::optional<KnownDelivery> KnownDeliveries::Find(const std::string& delivery_id) const {
  absl::MutexLock lock(&mu_);
  auto it = by_id_.find(delivery_id);
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

size_t KnownDeliveries::size() const {
  absl::MutexLock lock(&mu_);
  return by_id_.size();
}

}  // namespace hart
