#include "broker/api/supervisor_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/api/escalation_watch.h"
#include "broker/api/refused_stream.h"
#include "broker/api/status_mapping.h"
#include "broker/api/unary_call.h"
#include "broker/common/field_violations.h"
#include "broker/common/time_util.h"

namespace hart {

grpc::ServerUnaryReactor* SupervisorServiceImpl::GetReferral(
    grpc::CallbackServerContext* context, const v1::GetReferralRequest* request,
    v1::ReferralStatus* response) {
  return AnswerFromStore(*d_.authorizer, *d_.executor, context, "SupervisorService.GetReferral",
                         [this, request, response](const Identity& identity) {
                           return ToGrpcStatus(d_.operations->ReadReferral(
                               identity, request->referral_id(), "rpc=GetReferral", response));
                         });
}

grpc::ServerUnaryReactor* SupervisorServiceImpl::ExplainRouting(
    grpc::CallbackServerContext* context, const v1::ExplainRoutingRequest* request,
    v1::ExplainRoutingResponse* response) {
  // Validation and routing only: nothing to wait for.
  return AnswerInline(*d_.authorizer, context, "SupervisorService.ExplainRouting",
                      [this, request, response](const Identity&) {
                        return Explain(*request, response);
                      });
}

grpc::Status SupervisorServiceImpl::Explain(const v1::ExplainRoutingRequest& request,
                                            v1::ExplainRoutingResponse* response) const {
  auto decision = d_.pipeline->Explain(request.intake());
  if (!decision.ok()) return ToGrpcStatus(decision.status());
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
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* SupervisorServiceImpl::ListReferrals(
    grpc::CallbackServerContext* context, const v1::ListReferralsRequest* request,
    v1::ListReferralsResponse* response) {
  return AnswerFromStore(*d_.authorizer, *d_.executor, context, "SupervisorService.ListReferrals",
                         [this, request, response](const Identity&) {
                           return ToGrpcStatus(d_.operations->FindReferrals(*request, response));
                         });
}

grpc::ServerWriteReactor<v1::EscalationEvent>* SupervisorServiceImpl::WatchEscalations(
    grpc::CallbackServerContext* context, const v1::WatchEscalationsRequest* request) {
  auto decision = d_.authorizer->Decide(*context, "SupervisorService.WatchEscalations");
  if (!decision.identity.ok()) {
    return RefuseStream<v1::EscalationEvent>(*d_.authorizer, std::move(decision));
  }
  const Identity& identity = *decision.identity;
  if (auto slot = d_.authorizer->OpenStream(identity); !slot.ok()) {
    return new RefusedStream<v1::EscalationEvent>(ToGrpcStatus(slot));
  }
  return StartEscalationWatch(*d_.store, *d_.executor, *d_.escalation_hub,
                              d_.authorizer->drain_signal(), request->resume_after(),
                              [authorizer = d_.authorizer, who = identity] {
                                authorizer->CloseStream(who);
                              });
}

grpc::ServerUnaryReactor* SupervisorServiceImpl::Redeliver(grpc::CallbackServerContext* context,
                                                           const v1::RedeliverRequest* request,
                                                           v1::RedeliverResponse* response) {
  return AnswerFromStore(
      *d_.authorizer, *d_.executor, context, "SupervisorService.Redeliver",
      [this, request, response](const Identity& identity) {
        auto redelivered = d_.operations->Redeliver(identity, *request);
        if (redelivered.ok()) *response = std::move(*redelivered);
        return ToGrpcStatus(redelivered.status());
      });
}

grpc::ServerUnaryReactor* SupervisorServiceImpl::AcknowledgeOnBehalf(
    grpc::CallbackServerContext* context, const v1::AcknowledgeOnBehalfRequest* request,
    v1::AcknowledgeOnBehalfResponse* response) {
  return AnswerLater(
      *d_.authorizer, context, "SupervisorService.AcknowledgeOnBehalf",
      [this, request, response](const Identity& identity, grpc::ServerUnaryReactor* reactor) {
        d_.operations->AcknowledgeOnBehalf(
            identity, *request,
            [reactor, response](absl::StatusOr<v1::AcknowledgeOnBehalfResponse> answer) {
              if (answer.ok()) *response = std::move(*answer);
              reactor->Finish(ToGrpcStatus(answer.status()));
            });
      });
}

grpc::ServerUnaryReactor* SupervisorServiceImpl::SealReferral(
    grpc::CallbackServerContext* context, const v1::SealReferralRequest* request,
    v1::SealReferralResponse* response) {
  return AnswerFromStore(
      *d_.authorizer, *d_.executor, context, "SupervisorService.SealReferral",
      [this, request, response](const Identity& identity) {
        auto sealed = d_.sealer->Seal(request->referral_id(), request->court_order_reference(),
                                      identity.ToString());
        if (sealed.ok()) {
          for (const auto& agency : sealed->notified_agency_ids) {
            response->add_notified_agency_ids(agency);
          }
          response->set_stopped_deliveries(sealed->stopped_deliveries);
          if (d_.wake) d_.wake();
        }
        return ToGrpcStatus(sealed.status());
      });
}

grpc::ServerUnaryReactor* SupervisorServiceImpl::ListAdapterHealth(
    grpc::CallbackServerContext* context, const v1::ListAdapterHealthRequest* request,
    v1::ListAdapterHealthResponse* response) {
  // The health board is in memory: nothing to wait for.
  return AnswerInline(
      *d_.authorizer, context, "SupervisorService.ListAdapterHealth",
      [this, request, response](const Identity&) {
        *response = d_.operations->ListAdapterHealth(*request);
        return grpc::Status::OK;
      });
}

grpc::ServerUnaryReactor* SupervisorServiceImpl::CreateDashboardLogin(
    grpc::CallbackServerContext* context, const v1::CreateDashboardLoginRequest*,
    v1::CreateDashboardLoginResponse* response) {
  // The link is made in memory: nothing to wait for.
  return AnswerInline(*d_.authorizer, context, "SupervisorService.CreateDashboardLogin",
                      [this, response](const Identity& identity) {
                        if (!d_.dashboard_login) {
                          return ToGrpcStatus(absl::FailedPreconditionError(
                              "this broker serves no dashboard (config server.ops)"));
                        }
                        auto link = d_.dashboard_login(identity);
                        if (!link.ok()) return ToGrpcStatus(link.status());
                        response->set_url(link->first);
                        *response->mutable_expires_at() = ToProtoTime(link->second);
                        return grpc::Status::OK;
                      });
}

}  // namespace hart
