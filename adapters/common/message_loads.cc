#include "adapters/common/message_loads.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/common/logging.h"

namespace hart::adapters {
namespace {

constexpr absl::Duration kShortest = absl::Seconds(1);
constexpr absl::Duration kLongest = absl::Minutes(5);

const std::shared_ptr<spdlog::logger>& Log() {
  static const auto log = Logger("adapter");
  return log;
}

// FNV-1a: the same id gives the same spread in every process and run.
double SpreadOf(const std::string& id) {
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

DeliveryResult MessageLoads::NotLoaded(const DeliveryRecord& delivery, const absl::Status& why) {
  absl::Status status(why.code(), absl::StrCat(adapter_type_, ": loading delivery ",
                                               delivery.delivery_id, ": ", why.message()));
  if (!IsRetryableDeliveryError(why.code())) return DeliveryResult::Failed(std::move(status));
  if (deferred_in_a_row_.fetch_add(1) == 0) {
    Log()->warn("event=message_load_deferring agency={} adapter={} delivery_id={} code={}",
                delivery.agency_id, adapter_type_, delivery.delivery_id,
                absl::StatusCodeToString(why.code()));
  }
  return DeliveryResult::Deferred(std::move(status), MessageRetryDelay(delivery));
}

void MessageLoads::Loaded(const DeliveryRecord& delivery) {
  if (deferred_in_a_row_.load(std::memory_order_relaxed) == 0) return;
  if (const uint64_t deferred = deferred_in_a_row_.exchange(0); deferred > 0) {
    Log()->info("event=message_load_recovered agency={} adapter={} deferred={}",
                delivery.agency_id, adapter_type_, deferred);
  }
}

}  // namespace hart::adapters
