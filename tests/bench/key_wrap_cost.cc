// hart-key-wrap-bench: what wrapping a data key costs, format 1 (sealed
// under the KEK itself) against format 2 (under a key derived per wrap,
// broker/crypto/key_wrap.h): one of either an intake. Prints microseconds
// per wrap, three rounds.
// Usage: hart-key-wrap-bench [wraps=200000]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "broker/common/buffered_random.h"
#include "broker/common/crypto_random.h"
#include "broker/crypto/aead.h"
#include "broker/crypto/key_wrap.h"

int main(int argc, char** argv) {
  const int wraps = argc > 1 ? std::atoi(argv[1]) : 200000;
  if (wraps <= 0) {
    std::fprintf(stderr, "usage: hart-key-wrap-bench [wraps=200000], wraps > 0\n");
    return 2;
  }
  hart::CryptoRandom random;
  hart::BufferedRandom uniques(random, hart::kRandomBlockBytes);  // as KeyRing draws them
  const auto kek = hart::crypto::Kek::Make(random.Bytes(hart::crypto::kKeyBytes)).value();
  const std::string data_key = random.Bytes(hart::crypto::kKeyBytes);
  const std::string context = "key:ref_00000000000000000001";
  using Clock = std::chrono::steady_clock;
  const auto micros_each = [wraps](Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration<double, std::micro>(to - from).count() / wraps;
  };
  size_t bytes = 0;
  for (int round = 0; round < 3; ++round) {
    const auto start = Clock::now();
    for (int i = 0; i < wraps; ++i) {
      bytes += hart::crypto::Seal(kek->bytes(), data_key, context, uniques).value().size();
    }
    const auto middle = Clock::now();
    for (int i = 0; i < wraps; ++i) {
      bytes += hart::crypto::WrapDataKey(*kek, data_key, context, uniques).value().size();
    }
    const auto end = Clock::now();
    std::printf("%d wraps: format 1 %.2f us, format 2 %.2f us per wrap\n", wraps,
                micros_each(start, middle), micros_each(middle, end));
  }
  return bytes == static_cast<size_t>(wraps) * 3 * (60 + 77) ? 0 : 1;
}
