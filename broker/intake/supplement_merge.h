// Applying a supplement's new facts to a referral's intake (pure), and
// validating the supplement itself.
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "broker/common/field_violations.h"
#include "broker/routing/geography.h"
#include "hart/referral/v1/intake.pb.h"

namespace hart {

struct MergedIntake {
  hart::referral::v1::Intake intake;
  // Intake field paths whose value changed, e.g. "concern.trafficking_type".
  std::vector<std::string> changed_fields;
};

// Field violations of the supplement (paths prefixed "supplement.").
std::vector<FieldViolation> ValidateSupplement(const hart::referral::v1::Supplement& supplement,
                                               const Geography& geography, absl::Time now);

MergedIntake MergeSupplement(const hart::referral::v1::Intake& intake,
                             const hart::referral::v1::Supplement& supplement);

}  // namespace hart
