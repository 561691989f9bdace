// Referral and delivery ids: a prefix and 16 Crockford base-32 characters
// (80 random bits), e.g. "ref_4K9ZQ7M2C1XW3B8D", "dlv_...".
#pragma once

#include <string>

#include "broker/random.h"

namespace hart {

class IdGenerator {
 public:
  // `random` must outlive the generator.
  explicit IdGenerator(RandomSource& random) : random_(random) {}
  std::string NewReferralId() { return Make("ref_"); }
  std::string NewDeliveryId() { return Make("dlv_"); }
  std::string NewTimerId() { return Make("tmr_"); }

 private:
  std::string Make(const char* prefix);
  RandomSource& random_;
};

}  // namespace hart
