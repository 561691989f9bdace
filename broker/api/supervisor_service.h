// gRPC edge of SupervisorService (supervisor role).
#pragma once

#include "broker/api/authorizer.h"
#include "broker/intake/intake_pipeline.h"
#include "broker/store.h"
#include "hart/referral/v1/supervisor.grpc.pb.h"

namespace hart {

class SupervisorServiceImpl final : public v1::SupervisorService::CallbackService {
 public:
  SupervisorServiceImpl(Store& store, IntakePipeline& pipeline, Authorizer& authorizer,
                        const Clock& clock)
      : store_(store), pipeline_(pipeline), authorizer_(authorizer), clock_(clock) {}

  grpc::ServerUnaryReactor* GetReferral(grpc::CallbackServerContext* context,
                                        const v1::GetReferralRequest* request,
                                        v1::ReferralStatus* response) override;
  grpc::ServerUnaryReactor* ExplainRouting(grpc::CallbackServerContext* context,
                                           const v1::ExplainRoutingRequest* request,
                                           v1::ExplainRoutingResponse* response) override;

 private:
  Store& store_;
  IntakePipeline& pipeline_;
  Authorizer& authorizer_;
  const Clock& clock_;
};

// Domain -> API conversions, shared with tests.
v1::DeliveryStatus ToDeliveryStatus(const DeliveryWithAcks& item);

}  // namespace hart
