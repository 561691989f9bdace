#include "broker/intake/referral_updater.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/common/time_util.h"

namespace hart {

std::vector<TimerRecord> TimersFor(const RoutingDecision& decision, const std::string& referral_id,
                                   IdGenerator& ids) {
  std::vector<TimerRecord> timers;
  for (const auto& pending : decision.pending) {
    timers.push_back({ids.NewTimerId(), referral_id, pending.due_at, pending.rule_ids});
  }
  return timers;
}

absl::StatusOr<PlannedChange> ReferralUpdater::Plan(
    const ReferralRecord& referral, const std::vector<DeliveryWithAcks>& deliveries,
    const v1::Intake& new_intake, const std::vector<std::string>& changed_fields,
    absl::Time now, const std::string& actor) const {
  auto decision = router_.Route(new_intake, now, Reasons::kUnsaid);
  if (!decision.ok()) return decision.status();

  // What each agency already has: the rules that chose it so far.
  std::map<std::string, std::set<std::string>> known_rules;
  std::map<std::string, const DeliveryRecord*> first_delivery;
  for (const auto& item : deliveries) {
    const DeliveryRecord& d = item.delivery;
    auto& rules = known_rules[d.agency_id];
    rules.insert(d.rule_ids.begin(), d.rule_ids.end());
    if (!first_delivery.count(d.agency_id)) first_delivery[d.agency_id] = &d;
  }

  PlannedChange plan;
  ReferralChange& c = plan.change;
  c.referral_id = referral.referral_id;
  c.expected_version = referral.version;
  c.intake = new_intake;
  c.priority = decision->priority;
  c.resolved_town = decision->town->name();
  c.receipt = referral.receipt;
  c.receipt.set_priority(c.priority);
  c.receipt.set_resolved_town(c.resolved_town);
  c.at = now;

  auto make_delivery = [&](const cfg::Agency& agency, v1::MessageKind kind,
                           std::vector<std::string> rule_ids, absl::Time ack_deadline,
                           std::optional<absl::Time> delivery_deadline) {
    DeliveryRecord d;
    d.delivery_id = ids_.NewDeliveryId();
    d.referral_id = referral.referral_id;
    d.agency_id = agency.id();
    d.agency_kind = agency.kind();
    d.rule_ids = std::move(rule_ids);
    d.adapter_type = agency.adapter().type();
    d.state = v1::PENDING;
    d.created_at = now;
    d.next_attempt_at = AsapAttempt(now);
    d.ack_deadline = ack_deadline;
    d.delivery_deadline = delivery_deadline;
    d.kind = kind;
    d.priority = c.priority;
    return d;
  };

  std::set<std::string> told;
  for (const auto& dest : decision->destinations) {
    const cfg::Agency& agency = *dest.agency;
    told.insert(agency.id());
    auto known = known_rules.find(agency.id());
    if (known == known_rules.end()) {
      DeliveryRecord d = make_delivery(agency, v1::REFERRAL, dest.rule_ids, dest.ack_deadline,
                                       dest.delivery_deadline);
      auto* out = c.receipt.add_destinations();
      out->set_agency_id(d.agency_id);
      out->set_agency_kind(d.agency_kind);
      for (const auto& rule : d.rule_ids) out->add_rule_ids(rule);
      out->set_delivery_id(d.delivery_id);
      *out->mutable_ack_deadline() = ToProtoTime(d.ack_deadline);
      if (d.delivery_deadline) *out->mutable_delivery_deadline() = ToProtoTime(*d.delivery_deadline);
      plan.new_agency_ids.push_back(agency.id());
      c.new_deliveries.push_back(std::move(d));
      continue;
    }
    std::vector<std::string> changes;
    for (const auto& path : changed_fields) {
      if (views_.Covers(agency.kind(), path)) changes.push_back(path);
    }
    std::vector<std::string> new_rules;
    for (const auto& rule : dest.rule_ids) {
      if (!known->second.count(rule)) new_rules.push_back(rule);
    }
    for (const auto& rule : new_rules) changes.push_back("rule:" + rule);
    if (changes.empty()) continue;
    DeliveryRecord d = make_delivery(agency, v1::UPDATE, new_rules.empty() ? dest.rule_ids : new_rules,
                                     dest.ack_deadline, dest.delivery_deadline);
    d.changes = std::move(changes);
    plan.updated_agency_ids.push_back(agency.id());
    c.new_deliveries.push_back(std::move(d));
  }
  // Agencies no rule chooses any more (e.g. the town was corrected) still
  // learn what changed, so nobody keeps acting on stale facts.
  for (const auto& [agency_id, rules] : known_rules) {
    if (told.count(agency_id)) continue;
    const cfg::Agency* agency = geography_.FindAgency(agency_id);
    if (agency == nullptr) continue;  // left the config; nothing to send through
    std::vector<std::string> changes;
    for (const auto& path : changed_fields) {
      if (views_.Covers(agency->kind(), path)) changes.push_back(path);
    }
    if (changes.empty()) continue;
    const DeliveryRecord& previous = *first_delivery[agency_id];
    DeliveryRecord d = make_delivery(*agency, v1::UPDATE, previous.rule_ids,
                                     now + (previous.ack_deadline - previous.created_at),
                                     std::nullopt);
    d.changes = std::move(changes);
    plan.updated_agency_ids.push_back(agency_id);
    c.new_deliveries.push_back(std::move(d));
  }
  c.new_timers = TimersFor(*decision, referral.referral_id, ids_);
  const size_t reroute_timers = c.new_timers.size();
  for (const auto& d : c.new_deliveries) {
    if (auto ladder = ladders_.FirstStep(d)) c.new_timers.push_back(std::move(*ladder));
  }

  std::vector<std::string> fired;
  for (const auto& verdict : decision->verdicts) {
    if (verdict.fired) fired.push_back(verdict.rule_id);
  }
  c.audit.push_back({now, actor, "referral.rerouted", referral.referral_id, "", "",
                     absl::StrCat("rules=", absl::StrJoin(fired, ","),
                                  " changed=", absl::StrJoin(changed_fields, ","),
                                  " new=", plan.new_agency_ids.size(),
                                  " updated=", plan.updated_agency_ids.size())});
  for (const auto& d : c.new_deliveries) {
    c.audit.push_back({now, actor, "delivery.created", referral.referral_id, d.delivery_id, "",
                       absl::StrCat("agency=", d.agency_id, " kind=",
                                    v1::MessageKind_Name(d.kind), " rules=",
                                    absl::StrJoin(d.rule_ids, ","))});
  }
  for (size_t i = 0; i < reroute_timers; ++i) {
    const TimerRecord& t = c.new_timers[i];
    c.audit.push_back({now, actor, "timer.scheduled", referral.referral_id, "", "",
                       absl::StrCat("timer=", t.timer_id, " due=", FormatRfc3339(t.due_at),
                                    " rules=", absl::StrJoin(t.rule_ids, ","))});
  }
  return plan;
}

}  // namespace hart
