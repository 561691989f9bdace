#include "tests/store/conformance_records.h"

#include "absl/strings/str_cat.h"
#include "broker/common/time_util.h"

namespace hart::conformance {

std::vector<std::string> AllPii() {
  return {kChildGivenName, kChildFamilyName, kChildDateOfBirth, kDcfCaseId,
          kReporterName,   kReporterPhone,   kNarrative,        kAckNote};
}

std::string ReferralId(const std::string& key) { return "ref_" + key; }
std::string ReportId(const std::string& key) { return "CL-" + key; }
std::string DeliveryId(const std::string& key, const std::string& agency_id) {
  return absl::StrCat("dlv_", key, "_", agency_id);
}

std::vector<std::string> IdsOf(const std::vector<DeliveryRecord>& deliveries) {
  std::vector<std::string> ids;
  for (const auto& d : deliveries) ids.push_back(d.delivery_id);
  return ids;
}

v1::Intake ExampleIntake(const std::string& careline_report_id) {
  v1::Intake intake;
  intake.set_careline_report_id(careline_report_id);
  *intake.mutable_received_at() = ToProtoTime(kT0 - absl::Hours(1));
  intake.mutable_reporter()->set_name(kReporterName);
  intake.mutable_reporter()->set_phone(kReporterPhone);
  auto& child = *intake.mutable_child();
  child.set_given_name(kChildGivenName);
  child.set_family_name(kChildFamilyName);
  child.set_date_of_birth(kChildDateOfBirth);
  child.set_town("Hartford");
  child.set_dcf_involved(true);
  child.set_dcf_case_id(kDcfCaseId);
  intake.mutable_concern()->set_narrative(kNarrative);
  return intake;
}

AuditEvent Event(const std::string& action, const std::string& referral_id,
                 const std::string& delivery_id, absl::Time at) {
  return {at,          "conformance/test",      action,       referral_id,
          delivery_id, std::string(32, '\x5a'), "conformance"};
}

DeliveryRecord Delivery(const std::string& referral_id, const std::string& delivery_id,
                        const std::string& agency_id, absl::Time due) {
  DeliveryRecord d;
  d.delivery_id = delivery_id;
  d.referral_id = referral_id;
  d.agency_id = agency_id;
  d.agency_kind = v1::LOCAL_LAW_ENFORCEMENT;
  d.rule_ids = {"ht-referral", "dcf-involved"};
  d.adapter_type = "grpc_feed";
  d.state = v1::PENDING;
  d.created_at = kT0;
  d.next_attempt_at = due;
  d.ack_deadline = kT0 + absl::Hours(72);
  d.delivery_deadline = kT0 + absl::Hours(24);
  d.kind = v1::REFERRAL;
  return d;
}

NewReferral Referral(const std::string& key, const std::vector<std::string>& agencies,
                     absl::Time due, const std::string& digest) {
  NewReferral n;
  ReferralRecord& r = n.referral;
  r.referral_id = ReferralId(key);
  r.careline_report_id = ReportId(key);
  r.content_sha256 = digest;
  r.intake = ExampleIntake(r.careline_report_id);
  r.priority = v1::URGENT;
  r.resolved_town = "Hartford";
  r.received_at = kT0 - absl::Hours(1);
  r.accepted_at = kT0;
  r.receipt.set_referral_id(r.referral_id);
  r.receipt.set_careline_report_id(r.careline_report_id);
  r.receipt.set_priority(r.priority);
  r.receipt.set_resolved_town(r.resolved_town);
  *r.receipt.mutable_accepted_at() = ToProtoTime(kT0);
  n.audit.push_back(Event("intake.accepted", r.referral_id));
  for (const auto& agency : agencies) {
    n.deliveries.push_back(Delivery(r.referral_id, DeliveryId(key, agency), agency, due));
    auto& destination = *r.receipt.add_destinations();
    destination.set_agency_id(agency);
    destination.set_delivery_id(n.deliveries.back().delivery_id);
    n.audit.push_back(Event("delivery.created", r.referral_id, destination.delivery_id()));
  }
  return n;
}

TimerRecord RerouteTimer(const std::string& referral_id, const std::string& timer_id,
                         absl::Time due) {
  TimerRecord t;
  t.timer_id = timer_id;
  t.referral_id = referral_id;
  t.due_at = due;
  t.rule_ids = {"missing-72h"};
  t.kind = TimerRecord::Kind::kReroute;
  return t;
}

TimerRecord LadderTimer(const DeliveryRecord& delivery, const std::string& timer_id, uint32_t step,
                        absl::Time due) {
  TimerRecord t;
  t.timer_id = timer_id;
  t.referral_id = delivery.referral_id;
  t.due_at = due;
  t.kind = TimerRecord::Kind::kLadder;
  t.delivery_id = delivery.delivery_id;
  t.step = step;
  t.base_at = kT0;
  t.reason = v1::ACK_DEADLINE_MISSED;
  return t;
}

FeedAppend FeedAppendFor(const DeliveryRecord& claimed) {
  return {claimed.delivery_id, claimed.agency_id,
          Event("delivery.sent", claimed.referral_id, claimed.delivery_id,
                claimed.last_attempt_at.value_or(kT0))};
}

namespace {

DeliveryOutcome Outcome(const DeliveryRecord& claimed, v1::DeliveryState state, absl::Time at,
                        const std::string& action) {
  DeliveryOutcome o;
  o.delivery_id = claimed.delivery_id;
  o.attempt = claimed.attempts;  // the claim's fencing value
  o.new_state = state;
  o.at = at;
  o.next_attempt_at = at;
  o.audit = Event(action, claimed.referral_id, claimed.delivery_id, at);
  return o;
}

}  // namespace

DeliveryOutcome RetryLater(const DeliveryRecord& claimed, absl::Time at,
                           absl::Time next_attempt_at) {
  DeliveryOutcome o = Outcome(claimed, v1::PENDING, at, "delivery.retry");
  o.next_attempt_at = next_attempt_at;
  o.error = "UNAVAILABLE: partner endpoint refused the connection";
  return o;
}

DeliveryOutcome Delivered(const DeliveryRecord& claimed, absl::Time at,
                          const std::string& transport_ref) {
  DeliveryOutcome o = Outcome(claimed, v1::DELIVERED, at, "delivery.delivered");
  o.transport_ref = transport_ref;
  return o;
}

DeliveryOutcome Dead(const DeliveryRecord& claimed, absl::Time at) {
  DeliveryOutcome o = Outcome(claimed, v1::DEAD, at, "delivery.dead");
  o.error = "INVALID_ARGUMENT: partner rejected the message";
  return o;
}

AckWrite Ack(const std::string& delivery_id, v1::Acknowledgement::Kind kind,
             v1::DeliveryState expected, v1::DeliveryState new_state, absl::Time at,
             const std::string& note) {
  AckWrite w;
  w.delivery_id = delivery_id;
  w.expected_state = expected;
  w.new_state = new_state;
  w.ack.set_kind(kind);
  w.ack.set_note(note);
  w.ack.set_actor("agency/hartford-pd");
  *w.ack.mutable_recorded_at() = ToProtoTime(at);
  // The referral id is not needed by the store to apply the ack.
  w.audit = Event(absl::StrCat("delivery.ack.", v1::Acknowledgement::Kind_Name(kind)), "",
                  delivery_id, at);
  return w;
}

AckWrite Received(const std::string& delivery_id, absl::Time at) {
  return Ack(delivery_id, v1::Acknowledgement::RECEIVED, v1::IN_FLIGHT, v1::DELIVERED, at);
}

AckWrite Accepted(const std::string& delivery_id, v1::DeliveryState expected, absl::Time at) {
  AckWrite w = Ack(delivery_id, v1::Acknowledgement::ACCEPTED, expected, v1::ACKNOWLEDGED, at);
  w.stop_ladder = true;
  return w;
}

EscalationWrite EscalationStep(const TimerRecord& fired, const DeliveryRecord& escalated,
                               absl::Time at, const std::string& notice_id,
                               std::optional<TimerRecord> next) {
  EscalationWrite w;
  w.fired_timer_id = fired.timer_id;
  w.fired_timer_lease = fired.lease;
  EscalationRecord e;
  e.at = at;
  e.referral_id = escalated.referral_id;
  e.delivery_id = escalated.delivery_id;
  e.agency_id = escalated.agency_id;
  e.reason = fired.reason;
  e.step = fired.step;
  e.targets = {v1::RENOTIFY_AGENCY, v1::AGENCY_BACKUP_CONTACT};
  if (!notice_id.empty()) {
    DeliveryRecord notice = Delivery(escalated.referral_id, notice_id, "hart-lead-north", at);
    notice.kind = v1::ESCALATION;
    notice.escalation.emplace();
    notice.escalation->set_escalated_delivery_id(escalated.delivery_id);
    notice.escalation->set_escalated_agency_id(escalated.agency_id);
    notice.escalation->set_reason(fired.reason);
    notice.escalation->set_step(fired.step);
    notice.escalation->set_target(v1::REGIONAL_HART_LEAD);
    e.notice_delivery_ids.push_back(notice_id);
    e.notified_agency_ids.push_back(notice.agency_id);
    w.notices.push_back(std::move(notice));
    w.audit.push_back(Event("delivery.created", escalated.referral_id, notice_id, at));
  }
  w.event = std::move(e);
  w.next = std::move(next);
  w.audit.push_back(Event("delivery.escalated", escalated.referral_id, escalated.delivery_id, at));
  return w;
}

RedeliveryWrite Redelivery(const DeliveryRecord& old, v1::DeliveryState expected,
                           const std::string& new_id, absl::Time at) {
  RedeliveryWrite w;
  w.old_delivery_id = old.delivery_id;
  w.expected_state = expected;
  w.new_delivery = Delivery(old.referral_id, new_id, old.agency_id, at);
  w.new_delivery.created_at = at;
  w.ladder = LadderTimer(w.new_delivery, "tmr_" + new_id + "_1", 1, at + absl::Hours(4));
  w.audit.push_back(Event("delivery.redelivered", old.referral_id, old.delivery_id, at));
  w.audit.push_back(Event("delivery.created", old.referral_id, new_id, at));
  return w;
}

ReferralChange ChangeOf(const ReferralRecord& stored, absl::Time at) {
  ReferralChange c;
  c.referral_id = stored.referral_id;
  c.expected_version = stored.version;
  c.intake = stored.intake;
  c.receipt = stored.receipt;
  c.priority = stored.priority;
  c.resolved_town = stored.resolved_town;
  c.at = at;
  c.audit.push_back(Event("referral.updated", stored.referral_id, "", at));
  return c;
}

SealWrite Seal(const std::string& referral_id, absl::Time at) {
  SealWrite w;
  w.referral_id = referral_id;
  w.at = at;
  w.audit.push_back(Event("referral.sealed", referral_id, "", at));
  return w;
}

v1::Checkpoint Checkpoint(uint64_t size, const std::string& root, absl::Time at) {
  v1::Checkpoint c;
  c.set_tree_size(size);
  c.set_root_hash(root);
  *c.mutable_timestamp() = ToProtoTime(at);
  c.set_key_id("0011223344556677");
  c.set_signature(std::string(64, '\x07'));
  c.set_signed_note(absl::StrCat("hart-conformance\n", size, "\n"));
  return c;
}

}  // namespace hart::conformance
