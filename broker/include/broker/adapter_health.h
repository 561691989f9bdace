// How each push destination is doing, as the delivery guard around its
// adapter sees it: circuit state, failures in a row, calls in flight and
// waiting, the last error (a status message: adapters put no PII in them).
// For operators (status API, metrics).
//
// Thread safety: AdapterHealthSource implementations are safe to call from
// any thread; AdapterHealth is a plain snapshot.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace hart {

struct AdapterHealth {
  enum class State {
    kUp,           // no transport failure since the last success
    kDegraded,     // failures in a row below the threshold, or a probe running
    kCircuitOpen,  // calls refused until circuit_open_until
  };
  std::string agency_id;
  std::string adapter_type;
  State state = State::kUp;
  uint32_t consecutive_failures = 0;
  uint32_t in_flight = 0;
  uint32_t queued = 0;
  // A call's duration, a moving average over about the last eight (zero
  // before the first answer): how many may wait in the queue follows it.
  absl::Duration call_time;
  // "CODE: message" of the last failed call, empty if none yet.
  std::string last_error;
  std::optional<absl::Time> last_error_at;
  std::optional<absl::Time> last_success_at;
  // kCircuitOpen: when a probe may go through.
  std::optional<absl::Time> circuit_open_until;
};

// "up", "degraded", "circuit_open".
inline const char* AdapterHealthStateName(AdapterHealth::State state) {
  switch (state) {
    case AdapterHealth::State::kUp:
      return "up";
    case AdapterHealth::State::kDegraded:
      return "degraded";
    case AdapterHealth::State::kCircuitOpen:
      return "circuit_open";
  }
  return "unknown";
}

class AdapterHealthSource {
 public:
  virtual ~AdapterHealthSource() = default;
  // nullopt if the agency has no guarded (push) adapter.
  virtual std::optional<AdapterHealth> HealthOf(const std::string& agency_id) const = 0;
  // Every guarded destination, by agency id.
  virtual std::vector<AdapterHealth> AllHealth() const = 0;
};

}  // namespace hart
