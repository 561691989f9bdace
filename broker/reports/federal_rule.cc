#include "broker/reports/federal_rule.h"

#include <algorithm>

#include "broker/common/time_util.h"

namespace hart::reports {
namespace {

// The UPDATE change a supplement saying "missing" or "found" records.
constexpr char kMissingChange[] = "missing.is_missing";

using Outcome = v1::FederalNotification::Outcome;

// How bad an outcome is, for the worse of two.
int Severity(Outcome outcome) {
  switch (outcome) {
    case v1::FederalNotification::NEVER_MADE: return 3;
    case v1::FederalNotification::LATE: return 2;
    case v1::FederalNotification::NOT_YET_DUE: return 1;
    default: return 0;
  }
}

}  // namespace

bool IsMissingFromCare(const ReportReferral& referral) {
  const v1::Intake& intake = referral.intake;
  if (!intake.child().dcf_involved()) return false;
  if (intake.missing().is_missing()) return true;
  for (const DeliveryRecord& d : referral.deliveries) {
    if (d.kind == v1::UPDATE &&
        std::find(d.changes.begin(), d.changes.end(), kMissingChange) != d.changes.end()) {
      return true;
    }
  }
  return false;
}

v1::FederalNotification NotificationOf(const ReportReferral& referral, v1::AgencyKind kind,
                                       absl::Time now) {
  const absl::Time deadline = referral.received_at + kFederalReportingWindow;
  const DeliveryRecord* made = nullptr;
  const DeliveryRecord* latest = nullptr;
  for (const DeliveryRecord& d : referral.deliveries) {
    if (d.kind != v1::REFERRAL || d.agency_kind != kind) continue;
    latest = &d;
    if (d.delivered_at && (made == nullptr || *d.delivered_at < *made->delivered_at)) made = &d;
  }
  v1::FederalNotification out;
  if (const DeliveryRecord* shown = made != nullptr ? made : latest) {
    out.set_delivery_id(shown->delivery_id);
    out.set_agency_id(shown->agency_id);
  }
  if (made != nullptr) {
    const absl::Time at = *made->delivered_at;
    *out.mutable_made_at() = ToProtoTime(at);
    if (at <= deadline) {
      out.set_outcome(v1::FederalNotification::ON_TIME);
    } else {
      out.set_outcome(v1::FederalNotification::LATE);
      *out.mutable_late_by() = ToProtoDuration(at - deadline);
    }
  } else {
    out.set_outcome(now <= deadline ? v1::FederalNotification::NOT_YET_DUE
                                    : v1::FederalNotification::NEVER_MADE);
  }
  return out;
}

v1::MissingFromCareReferral ClassifyMissingFromCare(const ReportReferral& referral,
                                                    absl::Time now) {
  v1::MissingFromCareReferral out;
  out.set_referral_id(referral.referral_id);
  *out.mutable_received_at() = ToProtoTime(referral.received_at);
  *out.mutable_deadline() = ToProtoTime(referral.received_at + kFederalReportingWindow);
  *out.mutable_ncmec() = NotificationOf(referral, v1::NCMEC, now);
  *out.mutable_law_enforcement() = NotificationOf(referral, v1::LOCAL_LAW_ENFORCEMENT, now);
  const Outcome a = out.ncmec().outcome();
  const Outcome b = out.law_enforcement().outcome();
  out.set_outcome(Severity(a) >= Severity(b) ? a : b);
  if (out.outcome() == v1::FederalNotification::LATE) {
    const absl::Duration late_a = FromProtoDuration(out.ncmec().late_by());
    const absl::Duration late_b = FromProtoDuration(out.law_enforcement().late_by());
    *out.mutable_late_by() = ToProtoDuration(std::max(late_a, late_b));
  }
  return out;
}

}  // namespace hart::reports
