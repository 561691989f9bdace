// The federal 24-hour rule (42 U.S.C. 671(a)(35)(B)): a child missing from
// a child-welfare agency's care must be reported to law enforcement and to
// NCMEC within 24 hours. How the broker's records answer it, precisely:
//  - Missing from care: the child is DCF-involved and was reported missing,
//    by the intake or by a later supplement. A child found since still
//    counts: the "found" supplement's UPDATE deliveries list the change
//    "missing.is_missing".
//  - The clock starts at the referral's received_at (when the Careline got
//    the report); the deadline is 24 h later.
//  - Law enforcement is LOCAL_LAW_ENFORCEMENT (the town's police or State
//    Police troop, where the missing-report rule sends it).
//  - Made: a REFERRAL delivery of the referral to an agency of that kind
//    reached the agency, at its delivered_at. The store sets it once, at the
//    first of: the push adapter's success (the partner's 2xx), the feed
//    partner's RECEIVED, or a business acknowledgement (ACCEPTED or
//    DECLINED, a supervisor's on behalf included: the agency confirmed it by
//    phone). A redelivery is another delivery; the earliest made decides.
#pragma once

#include "absl/time/time.h"
#include "broker/report_records.h"
#include "hart/referral/v1/supervisor.pb.h"

namespace hart::reports {

namespace v1 = ::hart::referral::v1;

inline constexpr absl::Duration kFederalReportingWindow = absl::Hours(24);

bool IsMissingFromCare(const ReportReferral& referral);

// Whether, when and by which delivery agencies of `kind` were told of
// `referral`, as of `now` (which decides NOT_YET_DUE against NEVER_MADE).
v1::FederalNotification NotificationOf(const ReportReferral& referral, v1::AgencyKind kind,
                                       absl::Time now);

// Both notifications of a missing-from-care referral and the worse outcome.
v1::MissingFromCareReferral ClassifyMissingFromCare(const ReportReferral& referral, absl::Time now);

}  // namespace hart::reports
