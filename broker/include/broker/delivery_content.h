// What push adapters need from the broker besides the delivery row: the
// message to send (the agency's view of the referral) and a way to record
// acknowledgements that arrive through the adapter's own channel.
#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker/records.h"
#include "hart/referral/v1/feed.pb.h"

namespace hart {

class DeliveryContent {
 public:
  using Loaded = std::function<void(absl::StatusOr<v1::ReferralDelivery>)>;
  virtual ~DeliveryContent() = default;

  // The message for `delivery` as its agency may see it: kind, changes,
  // escalation or erasure notice, the referral as the agency's field view,
  // the ack token and URL. With `notification_only` (e-mail) or for a sealed
  // referral, the referral carries references and deadlines but no intake
  // field at all. NOT_FOUND if the referral is gone. Reads the store (and
  // decrypts): blocking.
  virtual absl::StatusOr<v1::ReferralDelivery> Load(const DeliveryRecord& delivery,
                                                    bool notification_only) const = 0;

  // As Load, without blocking the caller: what an event loop calls. `done`
  // runs exactly once, on a thread of the broker's choosing (the store
  // executor), or on the calling thread when refused at once (UNAVAILABLE:
  // the store is busy). `delivery` is copied. The default calls Load inline
  // (test doubles that do no I/O).
  virtual void LoadAsync(const DeliveryRecord& delivery, bool notification_only,
                         Loaded done) const {
    done(Load(delivery, notification_only));
  }
};

class AckSink {
 public:
  using Done = std::function<void(absl::Status)>;
  virtual ~AckSink() = default;

  // Records `kind` for `delivery_id` as coming from `agency_id` (the
  // adapter's agency: another agency's delivery is PERMISSION_DENIED).
  // `actor` names the channel, e.g. "agency/cac-hartford via file_drop".
  // `done` runs once the acknowledgement is durable, on any thread.
  virtual void Acknowledge(const std::string& agency_id, const std::string& delivery_id,
                           v1::Acknowledgement::Kind kind, const std::string& note,
                           const std::string& actor, Done done) = 0;
};

}  // namespace hart
