// gRPC edge of IntakeService: authorises, converts, calls IntakePipeline.
#pragma once

#include "broker/api/authorizer.h"
#include "broker/intake/intake_pipeline.h"
#include "broker/intake/supplement_processor.h"
#include "hart/referral/v1/intake.grpc.pb.h"

namespace hart {

class IntakeServiceImpl final : public v1::IntakeService::CallbackService {
 public:
  IntakeServiceImpl(IntakePipeline& pipeline, SupplementProcessor& supplements,
                    Authorizer& authorizer)
      : pipeline_(pipeline), supplements_(supplements), authorizer_(authorizer) {}

  grpc::ServerUnaryReactor* SubmitIntake(grpc::CallbackServerContext* context,
                                         const v1::SubmitIntakeRequest* request,
                                         v1::SubmitIntakeResponse* response) override;
  grpc::ServerUnaryReactor* SupplementIntake(grpc::CallbackServerContext* context,
                                             const v1::SupplementIntakeRequest* request,
                                             v1::SupplementIntakeResponse* response) override;

 private:
  IntakePipeline& pipeline_;
  SupplementProcessor& supplements_;
  Authorizer& authorizer_;
};

}  // namespace hart
