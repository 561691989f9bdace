// Field views (SPEC §4): each agency kind receives only the intake fields
// its view includes, and a confidential reporter's identity only if its
// view may see it.
//
// Immutable after construction; safe to share between threads.
#pragma once

#include <map>

#include "broker/records.h"
#include "broker/views/compiled_field_mask.h"
#include "google/protobuf/field_mask.pb.h"
#include "hart/config/v1/broker_config.pb.h"
#include "hart/referral/v1/feed.pb.h"

namespace hart {

class ViewBuilder {
 public:
  explicit ViewBuilder(const hart::config::v1::BrokerConfig& config);

  // The intake trimmed to what `kind` may see. A kind without a view sees
  // nothing of the intake but its careline_report_id.
  v1::Intake TrimIntake(v1::AgencyKind kind, const v1::Intake& intake) const;

  // Whether `kind`'s view includes the intake field `path` (a field-mask
  // path such as "missing.is_missing").
  bool Covers(v1::AgencyKind kind, const std::string& path) const;

  // The referral as the delivery's agency sees it.
  v1::ReferralView Build(const DeliveryRecord& delivery, const v1::Intake& intake,
                         v1::Priority priority) const;

  // For notification-only adapters (e-mail, SMS): references, deadlines
  // and priority, and no intake field at all, so no PII.
  v1::ReferralView BuildNotification(const DeliveryRecord& delivery,
                                     v1::Priority priority) const;

 private:
  struct View {
    google::protobuf::FieldMask mask;
    CompiledFieldMask compiled;  // the mask, resolved once
    bool sees_confidential_reporter = false;
  };
  std::map<int, View> views_;  // by AgencyKind
};

}  // namespace hart
