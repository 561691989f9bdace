#include "broker/api/supervisor_operations.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "broker/common/field_violations.h"
#include "broker/common/time_util.h"
#include "broker/overdue.h"

namespace hart {
namespace {
constexpr char kPageTokenSeparator = '|';
}  // namespace

v1::DeliveryStatus ToDeliveryStatus(const DeliveryWithAcks& item, absl::Time now) {
  const DeliveryRecord& d = item.delivery;
  v1::DeliveryStatus out;
  out.set_delivery_id(d.delivery_id);
  out.set_agency_id(d.agency_id);
  out.set_agency_kind(d.agency_kind);
  for (const auto& rule : d.rule_ids) out.add_rule_ids(rule);
  out.set_adapter(d.adapter_type);
  out.set_state(d.state);
  out.set_attempts(d.attempts);
  *out.mutable_created_at() = ToProtoTime(d.created_at);
  if (d.last_attempt_at) *out.mutable_last_attempt_at() = ToProtoTime(*d.last_attempt_at);
  if (d.state == v1::PENDING) {
    *out.mutable_next_attempt_at() =
        ToProtoTime(ShownNextAttempt(d.next_attempt_at, d.created_at));
  }
  if (d.delivered_at) *out.mutable_delivered_at() = ToProtoTime(*d.delivered_at);
  if (d.acknowledged_at) *out.mutable_acknowledged_at() = ToProtoTime(*d.acknowledged_at);
  *out.mutable_ack_deadline() = ToProtoTime(d.ack_deadline);
  if (d.delivery_deadline) {
    *out.mutable_delivery_deadline() = ToProtoTime(*d.delivery_deadline);
  }
  out.set_last_error(d.last_error);
  out.set_transport_ref(d.transport_ref);
  out.set_kind(d.kind);
  for (const auto& change : d.changes) out.add_changes(change);
  for (const auto& ack : item.acks) *out.add_acks() = ack;
  if (d.escalation) *out.mutable_escalation() = *d.escalation;
  out.set_redelivered_as(d.redelivered_as);
  out.set_overdue(IsOverdue(d, now));
  return out;
}

v1::AdapterHealth ToAdapterHealth(const AdapterHealth& health) {
  v1::AdapterHealth out;
  out.set_agency_id(health.agency_id);
  out.set_adapter(health.adapter_type);
  switch (health.state) {
    case AdapterHealth::State::kUp: out.set_state(v1::AdapterHealth::UP); break;
    case AdapterHealth::State::kDegraded: out.set_state(v1::AdapterHealth::DEGRADED); break;
    case AdapterHealth::State::kCircuitOpen:
      out.set_state(v1::AdapterHealth::CIRCUIT_OPEN);
      break;
  }
  out.set_consecutive_failures(health.consecutive_failures);
  out.set_in_flight(health.in_flight);
  out.set_queued(health.queued);
  out.set_last_error(health.last_error);
  if (health.last_error_at) *out.mutable_last_error_at() = ToProtoTime(*health.last_error_at);
  if (health.last_success_at) {
    *out.mutable_last_success_at() = ToProtoTime(*health.last_success_at);
  }
  if (health.circuit_open_until) {
    *out.mutable_circuit_open_until() = ToProtoTime(*health.circuit_open_until);
  }
  return out;
}

absl::Status SupervisorOperations::AuditRead(AuditEvent event) {
  const absl::Status recorded = d_.writes != nullptr
                                    ? d_.writes->AppendAuditAndWait({std::move(event)})
                                    : d_.store->AppendAudit({&event, 1});
  if (!recorded.ok()) {
    return absl::UnavailableError("the broker could not record this read in the audit log; retry");
  }
  return absl::OkStatus();
}

absl::Status SupervisorOperations::ReadReferral(const Identity& reader,
                                                const std::string& referral_id,
                                                absl::string_view via, v1::ReferralStatus* response) {
  auto referral = d_.store->GetReferral(referral_id);
  if (!referral.ok()) return referral.status();
  auto deliveries = d_.store->GetDeliveries(referral_id);
  auto timers = d_.store->PendingTimers(referral_id);
  auto supplements = d_.store->ListSupplements(referral_id);
  for (const absl::Status& s : {deliveries.status(), timers.status(), supplements.status()}) {
    if (!s.ok()) return s;
  }
  // Every read of a referral by a person is audited (SPEC §6).
  AuditEvent read{d_.clock->Now(), reader.ToString(), "referral.read",
                  referral->referral_id, "", "", std::string(via)};
  if (auto s = AuditRead(std::move(read)); !s.ok()) return s;
  response->set_referral_id(referral->referral_id);
  response->set_careline_report_id(referral->careline_report_id);
  response->set_priority(referral->priority);
  response->set_resolved_town(referral->resolved_town);
  *response->mutable_received_at() = ToProtoTime(referral->received_at);
  *response->mutable_accepted_at() = ToProtoTime(referral->accepted_at);
  if (referral->sealed_at) *response->mutable_sealed_at() = ToProtoTime(*referral->sealed_at);
  const absl::Time now = d_.clock->Now();
  for (const auto& item : *deliveries) {
    v1::DeliveryStatus* status = response->add_deliveries();
    *status = ToDeliveryStatus(item, now);
    if (d_.adapter_health != nullptr) {
      if (auto health = d_.adapter_health->HealthOf(item.delivery.agency_id)) {
        *status->mutable_adapter_health() = ToAdapterHealth(*health);
      }
    }
    // The delivery's whole history, from the audit log.
    AuditQuery query;
    query.delivery_id = item.delivery.delivery_id;
    query.limit = 1000;
    auto events = d_.store->ListAuditEvents(query);
    if (!events.ok()) return events.status();
    for (const auto& e : *events) {
      auto* entry = status->add_timeline();
      *entry->mutable_at() = ToProtoTime(e.at);
      entry->set_action(e.action);
      entry->set_actor(e.actor);
      entry->set_detail(e.detail);
      entry->set_audit_index(e.index);
    }
  }
  for (const auto& timer : *timers) {
    if (timer.kind != TimerRecord::Kind::kReroute) continue;  // ladders show per delivery
    auto* pending = response->add_pending_evaluations();
    *pending->mutable_due_at() = ToProtoTime(timer.due_at);
    for (const auto& rule : timer.rule_ids) pending->add_rule_ids(rule);
  }
  for (const auto& id : *supplements) response->add_supplement_ids(id);
  return absl::OkStatus();
}

absl::StatusOr<std::string> SupervisorOperations::FindReferralId(
    const std::string& careline_report_id) {
  return d_.store->FindReferralId(careline_report_id);
}

absl::Status SupervisorOperations::FindReferrals(const v1::ListReferralsRequest& request,
                                                 v1::ListReferralsResponse* response) {
  ReferralQuery query;
  for (int state : request.states()) query.states.push_back(static_cast<v1::DeliveryState>(state));
  const absl::Time now = d_.clock->Now();
  if (request.overdue()) query.overdue_at = now;
  if (request.region() != 0) {
    if (d_.geography->FindRegion(request.region()) == nullptr) {
      return InvalidArgumentWithViolations(
          "unknown region", {{"region", "must be a DCF region number, 1 to 6"}});
    }
    for (const cfg::Town* town : d_.geography->towns()) {
      if (town->region() == request.region()) query.towns.push_back(town->name());
    }
  }
  query.rule_id = request.rule_id();
  query.agency_id = request.agency_id();
  if (request.has_received_from()) query.received_from = FromProtoTime(request.received_from());
  if (request.has_received_to()) query.received_to = FromProtoTime(request.received_to());
  query.limit = request.page_size() == 0 ? 50 : std::min<uint32_t>(request.page_size(), 500);
  if (!request.page_token().empty()) {
    // "<accepted_at micros>|<referral id>"
    const std::string& token = request.page_token();
    const size_t bar = token.find(kPageTokenSeparator);
    int64_t micros = 0;
    if (bar == std::string::npos || !absl::SimpleAtoi(token.substr(0, bar), &micros)) {
      return InvalidArgumentWithViolations(
          "bad page token", {{"pageToken", "use the nextPageToken of the previous page"}});
    }
    query.before = std::make_pair(absl::FromUnixMicros(micros), token.substr(bar + 1));
  }
  auto found = d_.store->ListReferrals(query);
  if (!found.ok()) return found.status();
  for (const auto& r : *found) {
    auto* out = response->add_referrals();
    out->set_referral_id(r.referral_id);
    out->set_careline_report_id(r.careline_report_id);
    out->set_priority(r.priority);
    out->set_resolved_town(r.resolved_town);
    if (const cfg::Town* town = d_.geography->ResolveTown(r.resolved_town)) {
      out->set_region(town->region());
    }
    *out->mutable_received_at() = ToProtoTime(r.received_at);
    *out->mutable_accepted_at() = ToProtoTime(r.accepted_at);
    out->set_deliveries(r.deliveries);
    out->set_acknowledged(r.acknowledged);
    out->set_overdue(r.overdue);
    out->set_dead(r.dead);
    out->set_declined(r.declined);
    if (r.next_deadline) *out->mutable_next_deadline() = ToProtoTime(*r.next_deadline);
  }
  if (found->size() == query.limit) {
    response->set_next_page_token(absl::StrCat(absl::ToUnixMicros(found->back().accepted_at),
                                               std::string(1, kPageTokenSeparator),
                                               found->back().referral_id));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::RedeliverResponse> SupervisorOperations::Redeliver(
    const Identity& supervisor, const v1::RedeliverRequest& request) {
  auto created = d_.redeliverer->Redeliver(request.delivery_id(), request.to_agency_id(),
                                           request.reason(), supervisor.ToString());
  if (!created.ok()) return created.status();
  if (d_.wake) d_.wake();
  v1::RedeliverResponse response;
  response.set_new_delivery_id(created->delivery_id);
  response.set_agency_id(created->agency_id);
  *response.mutable_ack_deadline() = ToProtoTime(created->ack_deadline);
  return response;
}

void SupervisorOperations::AcknowledgeOnBehalf(
    const Identity& supervisor, const v1::AcknowledgeOnBehalfRequest& request,
    std::function<void(absl::StatusOr<v1::AcknowledgeOnBehalfResponse>)> done) {
  if (request.reason().empty()) {
    done(InvalidArgumentWithViolations(
        "an acknowledgement on behalf of an agency needs a reason",
        {{"reason", "say how the agency confirmed (it is audited)"}}));
    return;
  }
  AckRequest ack{"", request.delivery_id(), request.kind(), request.note(), supervisor.ToString(),
                 request.reason()};
  // Answered once the acknowledgement is durable, from the recorder's
  // threads: this thread does not wait for it.
  d_.acks->AcknowledgeAsync(std::move(ack), [done = std::move(done)](
                                                absl::StatusOr<AckOutcome> outcome) {
    if (!outcome.ok()) return done(outcome.status());
    v1::AcknowledgeOnBehalfResponse response;
    response.set_state(outcome->state);
    if (outcome->audit_index) response.set_audit_index(*outcome->audit_index);
    done(std::move(response));
  });
}

v1::ListAdapterHealthResponse SupervisorOperations::ListAdapterHealth(
    const v1::ListAdapterHealthRequest& request) const {
  v1::ListAdapterHealthResponse response;
  if (d_.adapter_health == nullptr) return response;
  for (const AdapterHealth& health : d_.adapter_health->AllHealth()) {
    v1::AdapterHealth out = ToAdapterHealth(health);
    const bool wanted = request.states().empty() ||
                        std::find(request.states().begin(), request.states().end(),
                                  out.state()) != request.states().end();
    if (wanted) *response.add_adapters() = std::move(out);
  }
  return response;
}

}  // namespace hart
