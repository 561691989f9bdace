#include "broker/routing/router.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/common/time_util.h"
#include "broker/routing/condition.h"

namespace hart {

namespace v1 = ::hart::referral::v1;

namespace {

// Every "missing for at least N hours" threshold in a condition.
void CollectMissingThresholds(const cfg::Condition& c, std::vector<uint32_t>* hours) {
  if (c.has_missing_for_at_least_hours()) hours->push_back(c.missing_for_at_least_hours());
  for (const auto& alternative : c.any_of()) CollectMissingThresholds(alternative, hours);
}

// When a rule that does not hold at `now` would hold purely by time passing.
std::optional<absl::Time> FiresLater(const cfg::Rule& rule, const v1::Intake& intake,
                                     absl::Time now) {
  if (!intake.missing().is_missing() || !intake.missing().has_missing_since()) {
    return std::nullopt;
  }
  std::vector<uint32_t> hours;
  CollectMissingThresholds(rule.when(), &hours);
  std::sort(hours.begin(), hours.end());
  const absl::Time since = FromProtoTime(intake.missing().missing_since());
  for (uint32_t h : hours) {
    const absl::Time at = since + absl::Hours(h);
    if (at > now && EvaluateCondition(rule.when(), intake, at, Reasons::kUnsaid).holds) {
      return at;
    }
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<RoutingDecision> Router::Route(const v1::Intake& intake, absl::Time now,
                                              Reasons reasons) const {
  const bool said = reasons == Reasons::kSaid;
  RoutingDecision decision;
  decision.priority = intake.immediate_danger() ? v1::URGENT : v1::NORMAL;
  decision.town = geography_.ResolveTown(intake.child().town());
  if (decision.town == nullptr) {
    return absl::FailedPreconditionError("child.town is not a known Connecticut town");
  }
  const absl::Time received_at = FromProtoTime(intake.received_at());
  for (const auto& rule : config_.rules()) {
    RuleVerdict verdict;
    verdict.rule_id = rule.id();
    if (said) verdict.description = rule.description();
    ConditionResult result = EvaluateCondition(rule.when(), intake, now, reasons);
    verdict.fired = result.holds;
    verdict.reasons = std::move(result.reasons);
    if (verdict.fired) {
      for (const auto& dest : rule.destinations()) {
        const cfg::Agency* agency = nullptr;
        if (!dest.agency().empty()) {
          agency = geography_.FindAgency(dest.agency());
          if (agency == nullptr) {
            return absl::FailedPreconditionError(absl::StrCat(
                "rule '", rule.id(), "' names unknown agency '", dest.agency(), "'"));
          }
        } else {
          auto resolved = geography_.AgencyFor(dest.kind(), *decision.town);
          if (!resolved.ok()) {
            return absl::FailedPreconditionError(
                absl::StrCat("rule '", rule.id(), "': ", resolved.status().message()));
          }
          agency = *resolved;
        }
        const absl::Duration ack_after = FromProtoDuration(
            decision.priority == v1::URGENT ? dest.ack_deadline_urgent()
                                            : dest.ack_deadline_normal());
        const absl::Time ack_deadline = now + ack_after;
        std::optional<absl::Time> delivery_deadline;
        if (dest.has_delivery_deadline()) {
          delivery_deadline = received_at + FromProtoDuration(dest.delivery_deadline());
        }
        verdict.agency_ids.push_back(agency->id());
        auto existing = std::find_if(
            decision.destinations.begin(), decision.destinations.end(),
            [&](const RoutedDestination& d) { return d.agency == agency; });
        if (existing == decision.destinations.end()) {
          decision.destinations.push_back(
              {agency, {rule.id()}, ack_deadline, delivery_deadline});
          continue;
        }
        if (std::find(existing->rule_ids.begin(), existing->rule_ids.end(),
                      rule.id()) == existing->rule_ids.end()) {
          existing->rule_ids.push_back(rule.id());
        }
        existing->ack_deadline = std::min(existing->ack_deadline, ack_deadline);
        if (delivery_deadline) {
          existing->delivery_deadline =
              existing->delivery_deadline
                  ? std::min(*existing->delivery_deadline, *delivery_deadline)
                  : *delivery_deadline;
        }
      }
    }
    if (!verdict.fired) {
      if (auto at = FiresLater(rule, intake, now)) {
        auto it = std::find_if(decision.pending.begin(), decision.pending.end(),
                               [&](const PendingRuleTime& p) { return p.due_at == *at; });
        if (it == decision.pending.end()) {
          decision.pending.push_back({*at, {rule.id()}});
        } else {
          it->rule_ids.push_back(rule.id());
        }
        if (said) {
          verdict.reasons.push_back(
              absl::StrCat("will fire at ", FormatRfc3339(*at), " unless the facts change"));
        }
      }
    }
    decision.verdicts.push_back(std::move(verdict));
  }
  std::sort(decision.pending.begin(), decision.pending.end(),
            [](const PendingRuleTime& a, const PendingRuleTime& b) { return a.due_at < b.due_at; });
  return decision;
}

}  // namespace hart
