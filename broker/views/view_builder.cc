#include "broker/views/view_builder.h"

#include "broker/common/time_util.h"

namespace hart {

ViewBuilder::ViewBuilder(const hart::config::v1::BrokerConfig& config) {
  for (const auto& view : config.field_views()) {
    View v;
    for (const auto& path : view.include()) v.mask.add_paths(path);
    v.compiled = CompiledFieldMask::Compile(v1::Intake::descriptor(), v.mask);
    v.sees_confidential_reporter = view.sees_confidential_reporter();
    views_[view.kind()] = std::move(v);
  }
}

v1::Intake ViewBuilder::TrimIntake(v1::AgencyKind kind, const v1::Intake& intake) const {
  v1::Intake out;
  auto it = views_.find(kind);
  if (it == views_.end()) {
    out.set_careline_report_id(intake.careline_report_id());
    return out;
  }
  it->second.compiled.MergeMessageTo(intake, &out);
  if (out.has_reporter() && intake.reporter().confidential() &&
      !it->second.sees_confidential_reporter) {
    out.mutable_reporter()->clear_name();
    out.mutable_reporter()->clear_phone();
    out.mutable_reporter()->clear_organization();
  }
  return out;
}

bool ViewBuilder::Covers(v1::AgencyKind kind, const std::string& path) const {
  auto it = views_.find(kind);
  if (it == views_.end()) return false;
  for (const auto& include : it->second.mask.paths()) {
    if (path == include || path.rfind(include + ".", 0) == 0) return true;
  }
  return false;
}

v1::ReferralView ViewBuilder::BuildNotification(const DeliveryRecord& delivery,
                                                v1::Priority priority) const {
  v1::ReferralView view;
  view.set_referral_id(delivery.referral_id);
  view.set_delivery_id(delivery.delivery_id);
  view.set_agency_id(delivery.agency_id);
  view.set_agency_kind(delivery.agency_kind);
  view.set_priority(priority);
  for (const auto& rule : delivery.rule_ids) view.add_rule_ids(rule);
  *view.mutable_ack_deadline() = ToProtoTime(delivery.ack_deadline);
  if (delivery.delivery_deadline) {
    *view.mutable_delivery_deadline() = ToProtoTime(*delivery.delivery_deadline);
  }
  return view;
}

v1::ReferralView ViewBuilder::Build(const DeliveryRecord& delivery,
                                    const v1::Intake& intake,
                                    v1::Priority priority) const {
  v1::ReferralView view = BuildNotification(delivery, priority);
  *view.mutable_intake() = TrimIntake(delivery.agency_kind, intake);
  auto it = views_.find(delivery.agency_kind);
  if (it != views_.end()) {
    for (const auto& path : it->second.mask.paths()) view.add_view_paths(path);
  }
  return view;
}

}  // namespace hart
