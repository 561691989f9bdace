// The CyberTipline report the ncmec adapter files for one delivery: an XML
// document modelled on NCMEC's report schema (incidentSummary, reporter,
// victim, additionalInfo), built from the NCMEC field view of the referral.
// Only fields present in the view are mapped; the delivery id travels as
// <reporter><reporterReference> so a repeat can be recognised (README.md
// shows an example and the mapping).
//
// Thread safety: pure functions.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "adapters/ncmec/ncmec_settings.pb.h"
#include "hart/referral/v1/feed.pb.h"
#include "hart/referral/v1/intake.pb.h"

namespace hart::adapters::ncmec {

// NCMEC's incident type for the intake: "Child Sex Trafficking" for a sex
// trafficking concern; else "Child Missing From Care" for a missing child;
// else "Child Labor Trafficking" / "Suspected Child Trafficking".
std::string IncidentType(const ::hart::referral::v1::Intake& intake);

// The report XML for `message` (a REFERRAL or UPDATE). INVALID_ARGUMENT when
// the view lacks what every report needs (the intake, its received_at);
// the message names the delivery and the missing field, never a value.
absl::StatusOr<std::string> BuildReportXml(const ::hart::referral::v1::ReferralDelivery& message,
                                           const v1::NcmecSettings& settings);

}  // namespace hart::adapters::ncmec
