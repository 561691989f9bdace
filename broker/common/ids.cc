#include "broker/common/ids.h"

namespace hart {

std::string IdGenerator::Make(const char* prefix) {
  static constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  const std::string bytes = random_.Bytes(10);  // 80 bits = 16 symbols
  std::string out = prefix;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char byte : bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += kAlphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

}  // namespace hart
