// Evaluates a rule's condition against an intake and says why, in words a
// supervisor reads ("child is not DCF-involved", "missing 71 h 59 m, rule
// needs 72 h").
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "hart/config/v1/broker_config.pb.h"
#include "hart/referral/v1/intake.pb.h"

namespace hart {

struct ConditionResult {
  bool holds = false;
  // When it holds: every clause that held. When not: the clauses that failed.
  // Empty when evaluated without reasons.
  std::vector<std::string> reasons;
};

// Whether an evaluation says why. An intake's routing reads only whether
// each rule holds; the words are for ExplainRouting (and its tests).
enum class Reasons { kSaid, kUnsaid };

// `now` is the time of evaluation (for "hours since missing_since").
// Whether it holds never depends on `reasons`.
ConditionResult EvaluateCondition(const hart::config::v1::Condition& condition,
                                  const hart::referral::v1::Intake& intake, absl::Time now,
                                  Reasons reasons = Reasons::kSaid);

}  // namespace hart
