#include "broker/api/audit_service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/api/status_mapping.h"
#include "broker/audit/audit_entry.h"
#include "broker/common/time_util.h"

namespace hart {
namespace {


// Finishes `reactor` with `status` when it is an error; true if it did.
bool FinishIfError(grpc::ServerUnaryReactor* reactor, const absl::Status& status) {
  if (status.ok()) return false;
  reactor->Finish(ToGrpcStatus(status));
  return true;
}

}  // namespace

v1::AuditEvent ToApiEvent(const AuditEvent& event) {
  v1::AuditEvent out;
  *out.mutable_entry() = audit::ToEntry(event.index, event);
  out.set_leaf_hash(event.leaf_hash);
  return out;
}

grpc::ServerUnaryReactor* AuditServiceImpl::ListEvents(grpc::CallbackServerContext* context,
                                                       const v1::ListEventsRequest* request,
                                                       v1::ListEventsResponse* response) {
  auto* reactor = context->DefaultReactor();
  auto identity = authorizer_.Require(*context, "AuditService.ListEvents");
  if (FinishIfError(reactor, identity.status())) return reactor;
  AuditQuery query;
  query.referral_id = request->referral_id();
  query.delivery_id = request->delivery_id();
  query.actor = request->actor();
  if (request->has_from()) query.from = FromProtoTime(request->from());
  if (request->has_to()) query.to = FromProtoTime(request->to());
  query.start_index = request->start_index();
  query.limit = request->page_size() == 0 ? 100 : std::min<uint32_t>(request->page_size(), 1000);
  auto events = store_.ListAuditEvents(query);
  if (FinishIfError(reactor, events.status())) return reactor;
  for (const auto& e : *events) *response->add_events() = ToApiEvent(e);
  if (events->size() == query.limit) response->set_next_start_index(events->back().index + 1);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AuditServiceImpl::GetCheckpoint(grpc::CallbackServerContext* context,
                                                          const v1::GetCheckpointRequest* request,
                                                          v1::Checkpoint* response) {
  auto* reactor = context->DefaultReactor();
  auto identity = authorizer_.Require(*context, "AuditService.GetCheckpoint");
  if (FinishIfError(reactor, identity.status())) return reactor;
  auto checkpoint = log_.GetCheckpoint(request->tree_size());
  if (FinishIfError(reactor, checkpoint.status())) return reactor;
  *response = std::move(*checkpoint);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AuditServiceImpl::ListCheckpoints(
    grpc::CallbackServerContext* context, const v1::ListCheckpointsRequest*,
    v1::ListCheckpointsResponse* response) {
  auto* reactor = context->DefaultReactor();
  auto identity = authorizer_.Require(*context, "AuditService.ListCheckpoints");
  if (FinishIfError(reactor, identity.status())) return reactor;
  auto all = store_.ListCheckpoints();
  if (FinishIfError(reactor, all.status())) return reactor;
  for (auto& c : *all) *response->add_checkpoints() = std::move(c);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AuditServiceImpl::CreateCheckpoint(
    grpc::CallbackServerContext* context, const v1::CreateCheckpointRequest*,
    v1::Checkpoint* response) {
  auto* reactor = context->DefaultReactor();
  auto identity = authorizer_.Require(*context, "AuditService.CreateCheckpoint");
  if (FinishIfError(reactor, identity.status())) return reactor;
  auto checkpoint = log_.Checkpoint();
  if (FinishIfError(reactor, checkpoint.status())) return reactor;
  *response = std::move(*checkpoint);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AuditServiceImpl::ProveInclusion(
    grpc::CallbackServerContext* context, const v1::ProveInclusionRequest* request,
    v1::InclusionProof* response) {
  auto* reactor = context->DefaultReactor();
  auto identity = authorizer_.Require(*context, "AuditService.ProveInclusion");
  if (FinishIfError(reactor, identity.status())) return reactor;
  AuditQuery query;
  query.start_index = request->leaf_index();
  query.limit = 1;
  auto events = store_.ListAuditEvents(query);
  if (FinishIfError(reactor, events.status())) return reactor;
  if (events->empty() || events->front().index != request->leaf_index()) {
    FinishIfError(reactor, absl::NotFoundError(
                               absl::StrCat("no audit event at index ", request->leaf_index())));
    return reactor;
  }
  const AuditEvent& event = events->front();
  if (identity->role == Role::kAgency) {
    // A partner may prove only what concerns its own deliveries.
    auto delivery = event.delivery_id.empty() ? absl::StatusOr<DeliveryRecord>(
                                                    absl::NotFoundError("no delivery"))
                                              : store_.GetDelivery(event.delivery_id);
    if (!delivery.ok() || delivery->agency_id != identity->id) {
      authorizer_.RecordDenial(identity->ToString(), "AuditService.ProveInclusion", event.referral_id,
                               event.delivery_id);
      FinishIfError(reactor, absl::PermissionDeniedError(absl::StrCat(
                                 "audit event ", event.index,
                                 " does not concern a delivery to agency ", identity->id)));
      return reactor;
    }
  }
  auto path = log_.ProveInclusion(request->leaf_index(), request->tree_size());
  if (FinishIfError(reactor, path.status())) return reactor;
  response->set_leaf_index(request->leaf_index());
  response->set_tree_size(request->tree_size());
  for (auto& h : *path) response->add_audit_path(std::move(h));
  *response->mutable_event() = ToApiEvent(event);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AuditServiceImpl::ProveConsistency(
    grpc::CallbackServerContext* context, const v1::ProveConsistencyRequest* request,
    v1::ConsistencyProof* response) {
  auto* reactor = context->DefaultReactor();
  auto identity = authorizer_.Require(*context, "AuditService.ProveConsistency");
  if (FinishIfError(reactor, identity.status())) return reactor;
  auto proof = log_.ProveConsistency(request->first_size(), request->second_size());
  if (FinishIfError(reactor, proof.status())) return reactor;
  response->set_first_size(request->first_size());
  response->set_second_size(request->second_size());
  for (auto& h : *proof) response->add_proof(std::move(h));
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AuditServiceImpl::GetPublicKey(grpc::CallbackServerContext* context,
                                                         const v1::GetPublicKeyRequest*,
                                                         v1::PublicKey* response) {
  auto* reactor = context->DefaultReactor();
  auto identity = authorizer_.Require(*context, "AuditService.GetPublicKey");
  if (FinishIfError(reactor, identity.status())) return reactor;
  response->set_key_id(log_.signer().key_id());
  response->set_public_key_pem(log_.signer().public_key_pem());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace hart
