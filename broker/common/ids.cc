#include "broker/common/ids.h"

namespace hart {
namespace {

constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

// The low 5 * `symbols` bits of `value`, most significant first.
void AppendBase32(uint64_t value, int symbols, std::string* out) {
  for (int i = symbols - 1; i >= 0; --i) *out += kAlphabet[(value >> (5 * i)) & 31];
}

}  // namespace

std::string IdGenerator::Make(const char* prefix) {
  std::string out = prefix;
  const int64_t millis = clock_ == nullptr ? 0 : absl::ToUnixMillis(clock_->Now());
  AppendBase32(static_cast<uint64_t>(millis < 0 ? 0 : millis), 10, &out);
  const std::string bytes = random_.Bytes(7);  // 56 bits, 50 used
  uint64_t random = 0;
  for (unsigned char b : bytes) random = (random << 8) | b;
  AppendBase32(random, 10, &out);
  return out;
}

}  // namespace hart
