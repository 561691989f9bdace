// The seam for randomness: ids and retry jitter draw from a RandomSource so
// tests can make them deterministic.
//
// Thread safety: implementations are safe to call from any thread.
#pragma once

#include <cstdint>
#include <string>

namespace hart {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Fills `n` bytes. Production implementations are cryptographically strong
  // (ids must not be guessable).
  virtual std::string Bytes(size_t n) = 0;
  // Uniform in [0, bound); bound > 0.
  virtual uint64_t Uniform(uint64_t bound) = 0;
};

}  // namespace hart
