// RandomSource backed by OpenSSL's CSPRNG (RAND_bytes).
#pragma once

#include "broker/random.h"

namespace hart {

class CryptoRandom final : public RandomSource {
 public:
  std::string Bytes(size_t n) override;
  uint64_t Uniform(uint64_t bound) override;
};

}  // namespace hart
