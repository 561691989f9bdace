// The child's age in whole years at a given time: from date_of_birth when
// given (YYYY-MM-DD), else age_years. Unset when neither is usable.
#pragma once

#include <optional>

#include "absl/time/time.h"
#include "hart/referral/v1/intake.pb.h"

namespace hart {

// Parses "YYYY-MM-DD" as a calendar date; false if malformed or not a real date.
bool ParseCalendarDate(const std::string& text, absl::CivilDay* day);

std::optional<int> ChildAgeYears(const hart::referral::v1::Child& child,
                                 absl::Time at);

}  // namespace hart
