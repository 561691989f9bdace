#include "broker/common/crypto_random.h"

#include <openssl/rand.h>

#include <cstdlib>
#include <cstring>

namespace hart {

std::string CryptoRandom::Bytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()),
                 static_cast<int>(n)) != 1) {
    // Without randomness ids could collide; continuing would be unsafe.
    std::abort();
  }
  return out;
}

uint64_t CryptoRandom::Uniform(uint64_t bound) {
  // Rejection sampling avoids modulo bias.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  for (;;) {
    uint64_t value;
    const std::string bytes = Bytes(sizeof value);
    std::memcpy(&value, bytes.data(), sizeof value);
    if (value < limit) return value % bound;
  }
}

}  // namespace hart
