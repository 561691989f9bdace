// gRPC edge of AuditService. Auditors and supervisors may call everything;
// an agency may fetch the public key and checkpoints, and prove inclusion of
// events about its own deliveries (the way a partner checks its record).
// Store reads (and checkpoint writes) run on the store executor.
#pragma once

#include "broker/api/authorizer.h"
#include "broker/audit/audit_log.h"
#include "broker/store.h"
#include "broker/store/store_executor.h"
#include "hart/referral/v1/audit.grpc.pb.h"

namespace hart {

class AuditServiceImpl final : public v1::AuditService::CallbackService {
 public:
  // Every reference must outlive the service.
  AuditServiceImpl(Store& store, audit::AuditLog& log, Authorizer& authorizer,
                   StoreExecutor& executor)
      : store_(store), log_(log), authorizer_(authorizer), executor_(executor) {}

  grpc::ServerUnaryReactor* ListEvents(grpc::CallbackServerContext* context,
                                       const v1::ListEventsRequest* request,
                                       v1::ListEventsResponse* response) override;
  grpc::ServerUnaryReactor* GetCheckpoint(grpc::CallbackServerContext* context,
                                          const v1::GetCheckpointRequest* request,
                                          v1::Checkpoint* response) override;
  grpc::ServerUnaryReactor* ListCheckpoints(grpc::CallbackServerContext* context,
                                            const v1::ListCheckpointsRequest* request,
                                            v1::ListCheckpointsResponse* response) override;
  grpc::ServerUnaryReactor* CreateCheckpoint(grpc::CallbackServerContext* context,
                                             const v1::CreateCheckpointRequest* request,
                                             v1::Checkpoint* response) override;
  grpc::ServerUnaryReactor* ProveInclusion(grpc::CallbackServerContext* context,
                                           const v1::ProveInclusionRequest* request,
                                           v1::InclusionProof* response) override;
  grpc::ServerUnaryReactor* ProveConsistency(grpc::CallbackServerContext* context,
                                             const v1::ProveConsistencyRequest* request,
                                             v1::ConsistencyProof* response) override;
  grpc::ServerUnaryReactor* GetPublicKey(grpc::CallbackServerContext* context,
                                         const v1::GetPublicKeyRequest* request,
                                         v1::PublicKey* response) override;

 private:
  grpc::Status ProveInclusionNow(const Identity& identity, const v1::ProveInclusionRequest& request,
                                 v1::InclusionProof* response);

  Store& store_;
  audit::AuditLog& log_;
  Authorizer& authorizer_;
  StoreExecutor& executor_;
};

// Domain -> API.
v1::AuditEvent ToApiEvent(const AuditEvent& event);

}  // namespace hart
