// Unwrapped data keys of recently used referrals, so the hot paths (intake,
// feed reads) do not unwrap a key per row. Bounded: a miss only costs one
// key-row read and one unwrap.
//
// Thread safety: safe to use concurrently.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace hart::envelope {

class DataKeyCache {
 public:
  explicit DataKeyCache(size_t capacity = 4096) : capacity_(capacity) {}

  std::optional<std::string> Find(const std::string& referral_id) const {
    absl::MutexLock lock(&mu_);
    auto it = keys_.find(referral_id);
    if (it == keys_.end()) return std::nullopt;
    return it->second;
  }
  void Put(const std::string& referral_id, std::string key) {
    absl::MutexLock lock(&mu_);
    if (keys_.size() >= capacity_) keys_.clear();  // crude but bounded
    keys_[referral_id] = std::move(key);
  }
  void Forget(const std::string& referral_id) {
    absl::MutexLock lock(&mu_);
    keys_.erase(referral_id);
  }

 private:
  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::map<std::string, std::string> keys_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hart::envelope
