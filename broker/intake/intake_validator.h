// Validation of an intake per SPEC §3: every problem is reported, one field
// violation each, in plain words that say how to fix it. Descriptions never
// quote the submitted values (they may be PII).
#pragma once

#include <vector>

#include "absl/time/time.h"
#include "broker/common/field_violations.h"
#include "broker/routing/geography.h"
#include "hart/referral/v1/intake.pb.h"

namespace hart {

// Limits from SPEC §3.
inline constexpr size_t kMaxIntakeBytes = 1 << 20;
inline constexpr size_t kMaxNarrativeBytes = 64 << 10;
inline constexpr size_t kMaxNameBytes = 256;
inline constexpr size_t kMaxShortTextBytes = 64;
// Clocks of the Careline and the broker may differ slightly.
inline constexpr absl::Duration kAllowedClockSkew = absl::Minutes(5);
// No report is received before this (2000-01-01T00:00:00Z, the reports'
// first year): an earlier receivedAt is a default or mistyped date.
inline constexpr absl::Time kEarliestReceivedAt = absl::FromUnixSeconds(946684800);

// Empty when the intake is valid. `now` is the broker's current time.
std::vector<FieldViolation> ValidateIntake(
    const hart::referral::v1::Intake& intake, const Geography& geography,
    absl::Time now);

}  // namespace hart
