// A store that counts an ack recorder's delivery reads, for tests of when
// the recorder reads and when it does not.
#pragma once

#include <atomic>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "broker/store/store_wrapper.h"

namespace hart::testing {

// Counts the recorder's delivery reads: the batch's one read of its
// chains' first deliveries, and single reads (an ack decided again after it
// lost a compare-and-set, or after the ack before it in its chain failed).
// `stale_state`, when set, is what the batch read reports as every
// delivery's state: a delivery that changed after it was read.
class ReadCountingStore : public StoreWrapper {
 public:
  using StoreWrapper::StoreWrapper;
  absl::StatusOr<DeliveryRecord> GetDelivery(const std::string& delivery_id) override {
    ++reads;
    return StoreWrapper::GetDelivery(delivery_id);
  }
  std::vector<absl::StatusOr<DeliveryRecord>> GetDeliveriesByIds(
      std::span<const std::string> delivery_ids) override {
    ++batch_reads;
    batch_ids += static_cast<int>(delivery_ids.size());
    auto deliveries = StoreWrapper::GetDeliveriesByIds(delivery_ids);
    for (auto& delivery : deliveries) {
      if (delivery.ok() && stale_state.has_value()) delivery->state = *stale_state;
    }
    return deliveries;
  }
  std::atomic<int> reads{0};
  std::atomic<int> batch_reads{0};
  std::atomic<int> batch_ids{0};
  std::optional<v1::DeliveryState> stale_state;
};

}  // namespace hart::testing
