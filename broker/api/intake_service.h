// gRPC edge of IntakeService: authorises, converts, calls IntakePipeline.
#pragma once

#include "broker/api/authorizer.h"
#include "broker/intake/intake_pipeline.h"
#include "hart/referral/v1/intake.grpc.pb.h"

namespace hart {

class IntakeServiceImpl final : public v1::IntakeService::CallbackService {
 public:
  IntakeServiceImpl(IntakePipeline& pipeline, Authorizer& authorizer)
      : pipeline_(pipeline), authorizer_(authorizer) {}

  grpc::ServerUnaryReactor* SubmitIntake(grpc::CallbackServerContext* context,
                                         const v1::SubmitIntakeRequest* request,
                                         v1::SubmitIntakeResponse* response) override;

 private:
  IntakePipeline& pipeline_;
  Authorizer& authorizer_;
};

}  // namespace hart
