// A RandomSource that draws from another one a block at a time and hands
// the bytes out in order. For ids, which take a few bytes each, many times
// per intake: a RAND_bytes call per id was ~18 % of the intake handler's
// samples (OpenSSL 3 takes its DRBG's lock and reseed checks on each call).
// The bytes are the source's, unchanged, so they are as unguessable; keep
// it for ids and nonces (which need uniqueness, not secrecy), not for key
// material (the block stays in memory until used).
//
// Thread safety: any thread (a mutex around the block).
#pragma once

#include <cstddef>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "broker/random.h"

namespace hart {

// The block every BufferedRandom of the broker draws: a source call a
// few dozen ids or nonces (a data key's wrap takes 28 bytes: 18 a block).
inline constexpr size_t kRandomBlockBytes = 512;

class BufferedRandom final : public RandomSource {
 public:
  // `source` must outlive this; `block_bytes` > 0.
  BufferedRandom(RandomSource& source, size_t block_bytes)
      : source_(source), block_bytes_(block_bytes) {}

  // Requests larger than a block go to the source directly.
  std::string Bytes(size_t n) override;
  uint64_t Uniform(uint64_t bound) override { return source_.Uniform(bound); }

 private:
  RandomSource& source_;
  const size_t block_bytes_;
  absl::Mutex mu_;
  std::string block_ ABSL_GUARDED_BY(mu_);
  size_t used_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace hart
