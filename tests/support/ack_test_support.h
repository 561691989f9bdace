// What tests of AckRecorder share: a store that counts the recorder's
// delivery reads, the example referral's deliveries, and a batch of acks
// run to its outcomes.
#pragma once

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "broker/acks/ack_recorder.h"
#include "broker/store/store_wrapper.h"
#include "tests/support/referral_factory.h"

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

// Submits the example referral (its report id made unique by `suffix`)
// and returns its deliveries by agency id (none if it failed).
inline std::map<std::string, std::string> SubmitExampleDeliveries(ReferralFactory& factory,
                                                                  const std::string& suffix) {
  auto receipt =
      factory.Submit(ReferralFactory::Example("school-sex-trafficking-hartford", suffix));
  EXPECT_TRUE(receipt.ok()) << receipt.status();
  std::map<std::string, std::string> deliveries;
  if (receipt.ok()) {
    for (const auto& d : receipt->destinations()) deliveries[d.agency_id()] = d.delivery_id();
  }
  return deliveries;
}

// An ack by `agency`'s own partner system.
inline AckRequest AgencyAck(const std::string& agency, const std::string& delivery_id,
                            v1::Acknowledgement::Kind kind, const std::string& note = "") {
  return AckRequest{agency, delivery_id, kind, note, "agency/" + agency, ""};
}

// Runs `requests` as one AcknowledgeBatchAsync and waits (bounded) for
// their outcomes.
inline std::vector<absl::StatusOr<AckOutcome>> RunAckBatch(AckRecorder& acks,
                                                           std::vector<AckRequest> requests) {
  std::promise<std::vector<absl::StatusOr<AckOutcome>>> answered;
  auto future = answered.get_future();
  acks.AcknowledgeBatchAsync(std::move(requests), [&answered](auto outcomes) {
    answered.set_value(std::move(outcomes));
  });
  EXPECT_EQ(future.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  return future.get();
}

}  // namespace hart::testing
