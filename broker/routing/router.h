// Routing policy: evaluates every rule of the config, in order, against an
// intake and resolves destinations through the geography. A destination
// chosen by several rules is one destination listing every rule, with the
// earliest of their deadlines. Pure: stores nothing, reads no clock (the
// caller passes the time of evaluation).
//
// Immutable; safe to share between threads. `config` and `geography` must
// outlive the Router.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/routing/condition.h"
#include "broker/routing/geography.h"
#include "hart/referral/v1/intake.pb.h"

namespace hart {

struct RuleVerdict {
  std::string rule_id;
  std::string description;  // empty when the reasons go unsaid
  bool fired = false;
  std::vector<std::string> reasons;
  std::vector<std::string> agency_ids;
  friend bool operator==(const RuleVerdict&, const RuleVerdict&) = default;
};

struct RoutedDestination {
  const cfg::Agency* agency = nullptr;
  std::vector<std::string> rule_ids;
  absl::Time ack_deadline;
  std::optional<absl::Time> delivery_deadline;
  friend bool operator==(const RoutedDestination&, const RoutedDestination&) = default;
};

// A rule that does not fire now but will at `due_at` if nothing changes
// (time-driven conditions such as "missing for at least 72 h").
struct PendingRuleTime {
  absl::Time due_at;
  std::vector<std::string> rule_ids;
  friend bool operator==(const PendingRuleTime&, const PendingRuleTime&) = default;
};

struct RoutingDecision {
  hart::referral::v1::Priority priority = hart::referral::v1::NORMAL;
  const cfg::Town* town = nullptr;
  std::vector<RoutedDestination> destinations;  // in order of first choice
  std::vector<RuleVerdict> verdicts;            // one per rule, in order
  std::vector<PendingRuleTime> pending;         // earliest first
  friend bool operator==(const RoutingDecision&, const RoutingDecision&) = default;
};

class Router {
 public:
  Router(const cfg::BrokerConfig& config, const Geography& geography)
      : config_(config), geography_(geography) {}

  // `now` is when the broker accepts the intake: ack deadlines count from
  // it and time-driven conditions are evaluated at it. FAILED_PRECONDITION
  // if the town is unknown (validation rejects that first) or a kind does
  // not resolve (config validation rejects that at load). With
  // Reasons::kUnsaid the verdicts carry no reasons and no descriptions, and
  // everything else is the same: what an intake's submission needs.
  absl::StatusOr<RoutingDecision> Route(const hart::referral::v1::Intake& intake, absl::Time now,
                                        Reasons reasons = Reasons::kSaid) const;

 private:
  const cfg::BrokerConfig& config_;
  const Geography& geography_;
};

}  // namespace hart
