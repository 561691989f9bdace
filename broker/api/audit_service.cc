#include "broker/api/audit_service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/api/status_mapping.h"
#include "broker/api/unary_call.h"
#include "broker/audit/audit_entry.h"
#include "broker/common/time_util.h"

namespace hart {

v1::AuditEvent ToApiEvent(const AuditEvent& event) {
  v1::AuditEvent out;
  *out.mutable_entry() = audit::ToEntry(event.index, event);
  out.set_leaf_hash(event.leaf_hash);
  return out;
}

grpc::ServerUnaryReactor* AuditServiceImpl::ListEvents(grpc::CallbackServerContext* context,
                                                       const v1::ListEventsRequest* request,
                                                       v1::ListEventsResponse* response) {
  return AnswerFromStore(
      authorizer_, executor_, context, "AuditService.ListEvents",
      [this, request, response](const Identity&) {
        AuditQuery query;
        query.referral_id = request->referral_id();
        query.delivery_id = request->delivery_id();
        query.actor = request->actor();
        if (request->has_from()) query.from = FromProtoTime(request->from());
        if (request->has_to()) query.to = FromProtoTime(request->to());
        query.start_index = request->start_index();
        query.limit =
            request->page_size() == 0 ? 100 : std::min<uint32_t>(request->page_size(), 1000);
        auto events = store_.ListAuditEvents(query);
        if (!events.ok()) return ToGrpcStatus(events.status());
        for (const auto& e : *events) *response->add_events() = ToApiEvent(e);
        if (events->size() == query.limit) {
          response->set_next_start_index(events->back().index + 1);
        }
        return grpc::Status::OK;
      });
}

grpc::ServerUnaryReactor* AuditServiceImpl::GetCheckpoint(grpc::CallbackServerContext* context,
                                                          const v1::GetCheckpointRequest* request,
                                                          v1::Checkpoint* response) {
  return AnswerFromStore(authorizer_, executor_, context, "AuditService.GetCheckpoint",
                         [this, request, response](const Identity&) {
                           auto checkpoint = log_.GetCheckpoint(request->tree_size());
                           if (!checkpoint.ok()) return ToGrpcStatus(checkpoint.status());
                           *response = std::move(*checkpoint);
                           return grpc::Status::OK;
                         });
}

grpc::ServerUnaryReactor* AuditServiceImpl::ListCheckpoints(
    grpc::CallbackServerContext* context, const v1::ListCheckpointsRequest*,
    v1::ListCheckpointsResponse* response) {
  return AnswerFromStore(authorizer_, executor_, context, "AuditService.ListCheckpoints",
                         [this, response](const Identity&) {
                           auto all = store_.ListCheckpoints();
                           if (!all.ok()) return ToGrpcStatus(all.status());
                           for (auto& c : *all) *response->add_checkpoints() = std::move(c);
                           return grpc::Status::OK;
                         });
}

grpc::ServerUnaryReactor* AuditServiceImpl::CreateCheckpoint(
    grpc::CallbackServerContext* context, const v1::CreateCheckpointRequest*,
    v1::Checkpoint* response) {
  return AnswerFromStore(authorizer_, executor_, context, "AuditService.CreateCheckpoint",
                         [this, response](const Identity&) {
                           auto checkpoint = log_.Checkpoint();
                           if (!checkpoint.ok()) return ToGrpcStatus(checkpoint.status());
                           *response = std::move(*checkpoint);
                           return grpc::Status::OK;
                         });
}

grpc::ServerUnaryReactor* AuditServiceImpl::ProveInclusion(
    grpc::CallbackServerContext* context, const v1::ProveInclusionRequest* request,
    v1::InclusionProof* response) {
  return AnswerFromStore(authorizer_, executor_, context, "AuditService.ProveInclusion",
                         [this, request, response](const Identity& identity) {
                           return ProveInclusionNow(identity, *request, response);
                         });
}

grpc::Status AuditServiceImpl::ProveInclusionNow(const Identity& identity,
                                                 const v1::ProveInclusionRequest& request,
                                                 v1::InclusionProof* response) {
  AuditQuery query;
  query.start_index = request.leaf_index();
  query.limit = 1;
  auto events = store_.ListAuditEvents(query);
  if (!events.ok()) return ToGrpcStatus(events.status());
  if (events->empty() || events->front().index != request.leaf_index()) {
    return ToGrpcStatus(
        absl::NotFoundError(absl::StrCat("no audit event at index ", request.leaf_index())));
  }
  const AuditEvent& event = events->front();
  if (identity.role == Role::kAgency) {
    // A partner may prove only what concerns its own deliveries.
    auto delivery = event.delivery_id.empty() ? absl::StatusOr<DeliveryRecord>(
                                                    absl::NotFoundError("no delivery"))
                                              : store_.GetDelivery(event.delivery_id);
    if (!delivery.ok() || delivery->agency_id != identity.id) {
      authorizer_.RecordDenial(identity.ToString(), "AuditService.ProveInclusion",
                               event.referral_id, event.delivery_id);
      return ToGrpcStatus(absl::PermissionDeniedError(
          absl::StrCat("audit event ", event.index, " does not concern a delivery to agency ",
                       identity.id)));
    }
  }
  auto path = log_.ProveInclusion(request.leaf_index(), request.tree_size());
  if (!path.ok()) return ToGrpcStatus(path.status());
  response->set_leaf_index(request.leaf_index());
  response->set_tree_size(request.tree_size());
  for (auto& h : *path) response->add_audit_path(std::move(h));
  *response->mutable_event() = ToApiEvent(event);
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* AuditServiceImpl::ProveConsistency(
    grpc::CallbackServerContext* context, const v1::ProveConsistencyRequest* request,
    v1::ConsistencyProof* response) {
  return AnswerFromStore(
      authorizer_, executor_, context, "AuditService.ProveConsistency",
      [this, request, response](const Identity&) {
        auto proof = log_.ProveConsistency(request->first_size(), request->second_size());
        if (!proof.ok()) return ToGrpcStatus(proof.status());
        response->set_first_size(request->first_size());
        response->set_second_size(request->second_size());
        for (auto& h : *proof) response->add_proof(std::move(h));
        return grpc::Status::OK;
      });
}

grpc::ServerUnaryReactor* AuditServiceImpl::GetPublicKey(grpc::CallbackServerContext* context,
                                                         const v1::GetPublicKeyRequest*,
                                                         v1::PublicKey* response) {
  // The signer's key is in memory: nothing to wait for.
  return AnswerInline(authorizer_, context, "AuditService.GetPublicKey",
                      [this, response](const Identity&) {
                        response->set_key_id(log_.signer().key_id());
                        response->set_public_key_pem(log_.signer().public_key_pem());
                        return grpc::Status::OK;
                      });
}

}  // namespace hart
