#include "adapters/common/message_not_loaded.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"

namespace hart::adapters {
namespace {

constexpr absl::Duration kShortest = absl::Seconds(1);
constexpr absl::Duration kLongest = absl::Seconds(60);

// FNV-1a: the same id gives the same spread in every process and run.
double SpreadOf(std::string_view id) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : id) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return static_cast<double>(hash >> 11) / static_cast<double>(uint64_t{1} << 53);
}

}  // namespace

absl::Duration MessageRetryDelay(const DeliveryRecord& delivery) {
  const absl::Duration age = delivery.last_attempt_at
                                 ? *delivery.last_attempt_at - delivery.created_at
                                 : absl::ZeroDuration();
  const absl::Duration ceiling = std::clamp(age / 2, kShortest, kLongest);
  return ceiling * (0.5 + 0.5 * SpreadOf(delivery.delivery_id));
}

DeliveryResult MessageNotLoaded(const DeliveryRecord& delivery, const absl::Status& why,
                                absl::string_view adapter_type) {
  absl::Status status(why.code(), absl::StrCat(adapter_type, ": loading delivery ",
                                               delivery.delivery_id, ": ", why.message()));
  if (!IsRetryableDeliveryError(why.code())) return DeliveryResult::Failed(std::move(status));
  return DeliveryResult::Deferred(std::move(status), MessageRetryDelay(delivery));
}

}  // namespace hart::adapters
