#include "broker/acks/escalation_ladders.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/common/time_util.h"

namespace hart {
namespace {

// ESCALATION messages ask for attention, not a business acknowledgement of
// their own; this only bounds how long they count as open.
constexpr absl::Duration kNoticeAckWindow = absl::Hours(24);

}  // namespace

EscalationLadders::EscalationLadders(const cfg::BrokerConfig& config, const Geography& geography,
                                     IdGenerator& ids)
    : geography_(geography), ids_(ids) {
  for (const auto& ladder : config.escalation_ladders()) ladders_[ladder.kind()] = &ladder;
}

const cfg::EscalationLadder* EscalationLadders::LadderFor(v1::AgencyKind kind) const {
  auto it = ladders_.find(kind);
  if (it == ladders_.end() || it->second->steps().empty()) return nullptr;
  return it->second;
}

std::optional<TimerRecord> EscalationLadders::FirstStep(const DeliveryRecord& d) const {
  if (d.kind != v1::REFERRAL) return std::nullopt;
  const cfg::EscalationLadder* ladder = LadderFor(d.agency_kind);
  if (ladder == nullptr) return std::nullopt;
  TimerRecord t;
  t.timer_id = ids_.NewTimerId();
  t.referral_id = d.referral_id;
  t.kind = TimerRecord::Kind::kLadder;
  t.delivery_id = d.delivery_id;
  t.step = 1;
  t.base_at = d.ack_deadline;
  t.reason = v1::ACK_DEADLINE_MISSED;
  if (d.delivery_deadline && *d.delivery_deadline < d.ack_deadline) {
    t.base_at = *d.delivery_deadline;
    t.reason = v1::DELIVERY_DEADLINE_MISSED;
  }
  t.due_at = t.base_at + FromProtoDuration(ladder->steps(0).after());
  return t;
}

std::optional<LadderTrigger> EscalationLadders::TriggerNow(v1::AgencyKind kind, absl::Time at,
                                                           v1::EscalationReason reason) const {
  const cfg::EscalationLadder* ladder = LadderFor(kind);
  if (ladder == nullptr) return std::nullopt;
  // Step 1 runs now; later steps keep their spacing from step 1.
  return LadderTrigger{at, at - FromProtoDuration(ladder->steps(0).after()), reason};
}

absl::StatusOr<EscalationWrite> EscalationLadders::Plan(const TimerRecord& timer,
                                                        const DeliveryRecord& delivery,
                                                        const ReferralRecord& referral,
                                                        absl::Time now) const {
  EscalationWrite write;
  write.fired_timer_id = timer.timer_id;
  write.fired_timer_lease = timer.lease;
  const std::string actor = "broker/escalation";
  if (delivery.state == v1::ACKNOWLEDGED || !delivery.redelivered_as.empty()) {
    write.audit.push_back({now, actor, "escalation.stopped", referral.referral_id,
                           delivery.delivery_id, "",
                           absl::StrCat("step=", timer.step, " state=",
                                        v1::DeliveryState_Name(delivery.state))});
    return write;
  }
  const cfg::EscalationLadder* ladder = LadderFor(delivery.agency_kind);
  if (ladder == nullptr || timer.step == 0 ||
      timer.step > static_cast<uint32_t>(ladder->steps_size())) {
    write.audit.push_back({now, actor, "escalation.stopped", referral.referral_id,
                           delivery.delivery_id, "", "reason=no_such_step"});
    return write;
  }
  // Delivered in time for its delivery deadline: wait for the ack deadline.
  if (timer.reason == v1::DELIVERY_DEADLINE_MISSED && timer.step == 1 &&
      delivery.state == v1::DELIVERED && now < delivery.ack_deadline) {
    TimerRecord next = timer;
    next.timer_id = ids_.NewTimerId();
    next.base_at = delivery.ack_deadline;
    next.reason = v1::ACK_DEADLINE_MISSED;
    next.due_at = next.base_at + FromProtoDuration(ladder->steps(0).after());
    write.next = next;
    return write;
  }

  const cfg::EscalationStep& step = ladder->steps(static_cast<int>(timer.step) - 1);
  const cfg::Town* town = geography_.ResolveTown(referral.resolved_town);
  EscalationRecord event;
  event.at = now;
  event.referral_id = referral.referral_id;
  event.delivery_id = delivery.delivery_id;
  event.agency_id = delivery.agency_id;
  event.reason = timer.reason;
  event.step = timer.step;
  const cfg::Agency* own = geography_.FindAgency(delivery.agency_id);
  std::set<std::pair<std::string, int>> sent;
  for (int raw_target : step.targets()) {
    const auto target = static_cast<v1::EscalationTarget>(raw_target);
    event.targets.push_back(target);
    const cfg::Agency* agency = nullptr;
    switch (target) {
      case v1::RENOTIFY_AGENCY:
      case v1::AGENCY_BACKUP_CONTACT:
        agency = own;
        break;
      case v1::REGIONAL_HART_LEAD:
        if (town != nullptr) {
          auto lead = geography_.AgencyFor(v1::HART_REGIONAL_LEAD, *town);
          if (lead.ok()) agency = *lead;
        }
        break;
      case v1::STATEWIDE_COORDINATOR:
        if (town != nullptr) {
          auto coordinator = geography_.AgencyFor(v1::HART_STATEWIDE_COORDINATOR, *town);
          if (coordinator.ok()) agency = *coordinator;
        }
        break;
      default:
        break;
    }
    if (agency == nullptr || !sent.insert({agency->id(), raw_target}).second) continue;
    DeliveryRecord notice;
    notice.delivery_id = ids_.NewDeliveryId();
    notice.referral_id = referral.referral_id;
    notice.agency_id = agency->id();
    notice.agency_kind = agency->kind();
    notice.rule_ids = delivery.rule_ids;
    notice.adapter_type = agency->adapter().type();
    notice.state = v1::PENDING;
    notice.created_at = now;
    notice.next_attempt_at = AsapAttempt(now);
    notice.ack_deadline = now + kNoticeAckWindow;
    notice.kind = v1::ESCALATION;
    notice.priority = referral.priority;
    v1::EscalationNotice n;
    n.set_escalated_delivery_id(delivery.delivery_id);
    n.set_escalated_agency_id(delivery.agency_id);
    n.set_reason(timer.reason);
    n.set_step(timer.step);
    n.set_target(target);
    if (target == v1::AGENCY_BACKUP_CONTACT && own != nullptr) {
      n.set_contact_name(own->backup_contact().name());
      n.set_contact_email(own->backup_contact().email());
      n.set_contact_phone(own->backup_contact().phone());
    }
    notice.escalation = n;
    event.notice_delivery_ids.push_back(notice.delivery_id);
    event.notified_agency_ids.push_back(agency->id());
    write.audit.push_back({now, actor, "delivery.created", referral.referral_id,
                           notice.delivery_id, "",
                           absl::StrCat("agency=", agency->id(), " kind=ESCALATION escalates=",
                                        delivery.delivery_id, " step=", timer.step)});
    write.notices.push_back(std::move(notice));
  }
  write.audit.insert(write.audit.begin(),
                     AuditEvent{now, actor, "delivery.escalated", referral.referral_id,
                                delivery.delivery_id, "",
                                absl::StrCat("agency=", delivery.agency_id, " step=", timer.step,
                                             " reason=", v1::EscalationReason_Name(timer.reason),
                                             " notified=",
                                             absl::StrJoin(event.notified_agency_ids, ","))});
  write.event = std::move(event);
  if (timer.step < static_cast<uint32_t>(ladder->steps_size())) {
    TimerRecord next = timer;
    next.timer_id = ids_.NewTimerId();
    next.step = timer.step + 1;
    next.due_at = timer.base_at + FromProtoDuration(ladder->steps(static_cast<int>(timer.step)).after());
    write.next = next;
  }
  return write;
}

std::vector<std::string> EscalationLadders::Validate(const cfg::BrokerConfig& config,
                                                     const Geography& geography) {
  std::vector<std::string> problems;
  std::set<int> kinds;
  for (int i = 0; i < config.escalation_ladders_size(); ++i) {
    const auto& ladder = config.escalation_ladders(i);
    const std::string kind_name = v1::AgencyKind_Name(ladder.kind());
    const std::string where = absl::StrCat("escalation_ladders[", i, "] (", kind_name, ")");
    // Key path first, so the problem is located in the file.
    auto step_where = [&](int j) {
      return absl::StrCat("escalation_ladders[", i, "].steps[", j, "] (", kind_name, ")");
    };
    if (ladder.kind() == v1::AGENCY_KIND_UNSPECIFIED) {
      problems.push_back(absl::StrCat(where, ": needs a kind"));
    }
    if (!kinds.insert(ladder.kind()).second) {
      problems.push_back(absl::StrCat(where, ": a second ladder for the same kind"));
    }
    absl::Duration previous = absl::ZeroDuration();
    for (int j = 0; j < ladder.steps_size(); ++j) {
      const auto& step = ladder.steps(j);
      const absl::Duration after = FromProtoDuration(step.after());
      if (after < previous) {
        problems.push_back(
            absl::StrCat(step_where(j), ": 'after' must not be shorter than the step before"));
      }
      previous = after;
      if (step.targets().empty()) {
        problems.push_back(absl::StrCat(step_where(j), ": has no targets"));
      }
      for (int target : step.targets()) {
        if (target == v1::STATEWIDE_COORDINATOR || target == v1::REGIONAL_HART_LEAD) {
          const auto kind = target == v1::STATEWIDE_COORDINATOR ? v1::HART_STATEWIDE_COORDINATOR
                                                                : v1::HART_REGIONAL_LEAD;
          for (const cfg::Town* town : geography.towns()) {
            if (!geography.AgencyFor(kind, *town).ok()) {
              problems.push_back(absl::StrCat(step_where(j), ": no ",
                                              v1::AgencyKind_Name(kind), " for town '",
                                              town->name(), "'"));
              break;
            }
          }
        }
      }
    }
  }
  return problems;
}

}  // namespace hart
