#include "broker/api/supervisor_service.h"

#include "absl/strings/str_cat.h"
#include "broker/api/status_mapping.h"
#include "broker/common/time_util.h"

namespace hart {

v1::DeliveryStatus ToDeliveryStatus(const DeliveryWithAcks& item) {
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
  if (d.state == v1::PENDING) *out.mutable_next_attempt_at() = ToProtoTime(d.next_attempt_at);
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
  return out;
}

grpc::ServerUnaryReactor* SupervisorServiceImpl::GetReferral(
    grpc::CallbackServerContext* context, const v1::GetReferralRequest* request,
    v1::ReferralStatus* response) {
  auto* reactor = context->DefaultReactor();
  auto identity = authorizer_.Require(*context, "GetReferral", {Role::kSupervisor});
  if (!identity.ok()) {
    reactor->Finish(ToGrpcStatus(identity.status()));
    return reactor;
  }
  auto referral = store_.GetReferral(request->referral_id());
  if (!referral.ok()) {
    reactor->Finish(ToGrpcStatus(referral.status()));
    return reactor;
  }
  auto deliveries = store_.GetDeliveries(request->referral_id());
  auto timers = store_.PendingTimers(request->referral_id());
  auto supplements = store_.ListSupplements(request->referral_id());
  for (const absl::Status& s : {deliveries.status(), timers.status(), supplements.status()}) {
    if (!s.ok()) {
      reactor->Finish(ToGrpcStatus(s));
      return reactor;
    }
  }
  // Every read of a referral by a person is audited (SPEC §6).
  AuditEvent read{clock_.Now(), identity->ToString(), "referral.read",
                  referral->referral_id, "", "", "rpc=GetReferral"};
  if (auto s = store_.AppendAudit({&read, 1}); !s.ok()) {
    reactor->Finish(ToGrpcStatus(absl::UnavailableError(
        "the broker could not record this read in the audit log; retry")));
    return reactor;
  }
  response->set_referral_id(referral->referral_id);
  response->set_careline_report_id(referral->careline_report_id);
  response->set_priority(referral->priority);
  response->set_resolved_town(referral->resolved_town);
  *response->mutable_received_at() = ToProtoTime(referral->received_at);
  *response->mutable_accepted_at() = ToProtoTime(referral->accepted_at);
  for (const auto& item : *deliveries) *response->add_deliveries() = ToDeliveryStatus(item);
  for (const auto& timer : *timers) {
    auto* pending = response->add_pending_evaluations();
    *pending->mutable_due_at() = ToProtoTime(timer.due_at);
    for (const auto& rule : timer.rule_ids) pending->add_rule_ids(rule);
  }
  for (const auto& id : *supplements) response->add_supplement_ids(id);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* SupervisorServiceImpl::ExplainRouting(
    grpc::CallbackServerContext* context, const v1::ExplainRoutingRequest* request,
    v1::ExplainRoutingResponse* response) {
  auto* reactor = context->DefaultReactor();
  auto identity = authorizer_.Require(*context, "ExplainRouting", {Role::kSupervisor});
  if (!identity.ok()) {
    reactor->Finish(ToGrpcStatus(identity.status()));
    return reactor;
  }
  auto decision = pipeline_.Explain(request->intake());
  if (!decision.ok()) {
    reactor->Finish(ToGrpcStatus(decision.status()));
    return reactor;
  }
  response->set_priority(decision->priority);
  response->set_resolved_town(decision->town->name());
  for (const auto& verdict : decision->verdicts) {
    auto* rule = response->add_rules();
    rule->set_rule_id(verdict.rule_id);
    rule->set_description(verdict.description);
    rule->set_fired(verdict.fired);
    for (const auto& reason : verdict.reasons) rule->add_reasons(reason);
    for (const auto& agency : verdict.agency_ids) rule->add_agency_ids(agency);
  }
  for (const auto& pending : decision->pending) {
    auto* out = response->add_pending_evaluations();
    *out->mutable_due_at() = ToProtoTime(pending.due_at);
    for (const auto& rule : pending.rule_ids) out->add_rule_ids(rule);
  }
  for (const auto& dest : decision->destinations) {
    auto* out = response->add_destinations();
    out->set_agency_id(dest.agency->id());
    out->set_agency_kind(dest.agency->kind());
    for (const auto& rule : dest.rule_ids) out->add_rule_ids(rule);
    *out->mutable_ack_deadline() = ToProtoTime(dest.ack_deadline);
    if (dest.delivery_deadline) {
      *out->mutable_delivery_deadline() = ToProtoTime(*dest.delivery_deadline);
    }
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace hart
