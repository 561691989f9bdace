// The deliveries this broker's own commits just put on feeds, and the state
// its commits of their acknowledgements left them in, kept in memory so that
// a partner's ack of a delivery it was just sent is decided without reading
// the delivery back from the store (issue 15: at 1,000 intakes a second,
// about 3,500 ack calls a second each read a page or two in a fresh read
// transaction on a store thread).
//
// A kept state is a guess, never the truth: another replica, the dispatcher
// or a supervisor may have changed the delivery since. The recorder writes
// an ack decided from it with the kept state as the compare-and-set's
// expected state, so a stale guess loses that race and the ack is read and
// decided again; and a decision that would write nothing (a refusal, a
// repeat) is never taken from a guess. What else it keeps (agency, kind,
// referral, creation time) does not change once a delivery exists.
//
// Thread safety: safe to use concurrently. Remember must be called in
// commit order (the writer queue's after-commit hook).
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <span>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/write_batch.h"

namespace hart {

struct KnownDelivery {
  // What does not change once a delivery exists.
  std::string delivery_id;
  std::string referral_id;
  std::string agency_id;
  v1::AgencyKind agency_kind = v1::AGENCY_KIND_UNSPECIFIED;
  v1::MessageKind kind = v1::REFERRAL;
  absl::Time created_at;
  // As this broker's last commit left it: a guess (see above).
  v1::DeliveryState state = v1::DELIVERY_STATE_UNSPECIFIED;
};

class KnownDeliveries {
 public:
  // Deliveries kept at most (the oldest go first): 16,384 is three seconds
  // of deliveries at 1,000 intakes a second, a few MiB.
  static constexpr size_t kDefaultCapacity = 16384;

  explicit KnownDeliveries(size_t capacity = kDefaultCapacity);

  // After a committed batch of the writer queue: its requests and results.
  // Keeps the deliveries new intakes put on feeds; follows the acks of kept
  // ones (forgetting those an ack finished: ACCEPTED or DECLINED). Other
  // writes that change a delivery's state (a seal, a redelivery, another
  // replica's ack) are not followed: the compare-and-set finds them, and
  // forgetting everything on each would empty it in an escalation storm.
  void Remember(std::span<const WriteRequest> requests,
                std::span<const absl::StatusOr<WriteResult>> results);

  // The delivery as this broker last wrote it, if kept.
  std::optional<KnownDelivery> Find(const std::string& delivery_id) const;

  size_t size() const;

 private:
  void KeepLocked(const DeliveryRecord& delivery) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FollowAckLocked(const AckWrite& ack) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t capacity_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, KnownDelivery> by_id_ ABSL_GUARDED_BY(mu_);
  // Ids in the order kept; an id forgotten early stays here until its turn.
  std::deque<std::string> order_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hart
