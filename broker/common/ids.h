// Referral, delivery and timer ids: a prefix, 10 Crockford base-32
// characters of milliseconds since the epoch, then 10 random ones (50 bits),
// e.g. "ref_01JD3Q8Z4M7K2XW3B8DQ". Time first, so ids sort by creation and
// new rows land at the end of every index instead of on random pages (far
// fewer pages written per commit); the random part keeps them unique and
// unguessable within a millisecond.
#pragma once

#include <string>

#include "broker/clock.h"
#include "broker/random.h"

namespace hart {

class IdGenerator {
 public:
  // `random` (and `clock`, if given) must outlive the generator. Without a
  // clock the time part is zero (tests that want fixed ids).
  explicit IdGenerator(RandomSource& random, const Clock* clock = nullptr)
      : random_(random), clock_(clock) {}
  std::string NewReferralId() { return Make("ref_"); }
  std::string NewDeliveryId() { return Make("dlv_"); }
  std::string NewTimerId() { return Make("tmr_"); }

 private:
  std::string Make(const char* prefix);
  RandomSource& random_;
  const Clock* clock_;
};

}  // namespace hart
