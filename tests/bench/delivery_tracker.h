// Matches the deliveries that subscribers receive to the intakes that caused
// them: an intake is delivered when every feed destination of its receipt
// (one delivery id each) arrived on the destination agency's feed. Delivery
// latency = time the last of them arrived - the intake's send time.
// Destinations at agencies without a feed (push adapters) never reach a feed:
// they are counted as excluded, and an intake with only such destinations is
// not tracked at all.
// A feed event can beat its SubmitIntake response to the client, so arrivals
// of still unknown delivery ids are remembered until the receipt comes.
// Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "hart/referral/v1/intake.pb.h"
#include "tests/bench/latency_recorder.h"
#include "tests/bench/load_driver.h"

namespace hart::bench {

class DeliveryTracker {
 public:
  // `feed_agency_ids`: the agencies whose deliveries arrive on a feed.
  explicit DeliveryTracker(std::vector<std::string> feed_agency_ids);

  // A receipt of intake `index`, sent at `start`; `measured`: after warm-up.
  void OnReceipt(uint64_t index, BenchClock::time_point start, bool measured,
                 const referral::v1::Receipt& receipt);
  // A delivery event arrived on a feed at `arrived`.
  void OnDeliveryEvent(const std::string& delivery_id, BenchClock::time_point arrived);

  // Waits until every intake with a receipt is fully delivered, or `deadline`.
  // True if all were.
  bool WaitAllDelivered(BenchClock::time_point deadline);

  struct Summary {
    uint64_t intakes = 0;              // measured intakes with a feed destination
    uint64_t delivered = 0;            // ... of which every feed delivery arrived
    uint64_t deliveries_expected = 0;  // feed destinations of measured intakes
    uint64_t deliveries_arrived = 0;   // ... of which arrived
    uint64_t push_destinations_excluded = 0;  // push destinations of measured intakes
    uint64_t push_only_intakes = 0;    // measured intakes with push destinations only
    uint64_t repeats = 0;              // events for a delivery id already seen
    uint64_t foreign = 0;              // events never matched to a receipt of this run
    LatencySummary latency;            // of delivered measured intakes
  };
  Summary Summarize() const;
  // Each delivered measured intake's life: sent, and delivered to every
  // feed destination.
  std::vector<Lifetime> DeliveredLifetimes() const;

 private:
  struct Pending {
    BenchClock::time_point start;
    BenchClock::time_point last_arrival;
    int remaining = 0;
    bool measured = false;
  };

  // Called with mu_ held when delivery `delivery_id` of `index` arrived.
  void ArrivedLocked(uint64_t index, BenchClock::time_point arrived);

  const std::unordered_set<std::string> feed_agency_ids_;

  mutable std::mutex mu_;
  std::condition_variable all_delivered_;
  std::unordered_map<uint64_t, Pending> pending_;                    // by intake index
  std::unordered_map<std::string, uint64_t> awaited_;                // delivery id -> index
  std::unordered_map<std::string, BenchClock::time_point> early_;    // arrived before receipt
  std::unordered_set<std::string> seen_;                             // matched delivery ids
  uint64_t intakes_ = 0, delivered_ = 0, expected_ = 0, arrived_ = 0, repeats_ = 0;
  uint64_t push_excluded_ = 0, push_only_intakes_ = 0;
  // Each delivered measured intake: when it was sent, and its latency.
  std::vector<Lifetime> delivered_intakes_;
};

}  // namespace hart::bench
