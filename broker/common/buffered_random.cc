#include "broker/common/buffered_random.h"

namespace hart {

std::string BufferedRandom::Bytes(size_t n) {
  if (n > block_bytes_) return source_.Bytes(n);
  absl::MutexLock lock(&mu_);
  if (block_.size() - used_ < n) {
    block_ = source_.Bytes(block_bytes_);
    used_ = 0;
  }
  std::string out = block_.substr(used_, n);
  used_ += n;
  return out;
}

}  // namespace hart
