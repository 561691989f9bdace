// gRPC edge of IntakeService: authorises, converts, calls IntakePipeline
// and SupplementProcessor on the store executor (they read and write the
// store; gRPC threads only enqueue).
#pragma once

#include "broker/api/authorizer.h"
#include "broker/intake/intake_pipeline.h"
#include "broker/intake/supplement_processor.h"
#include "broker/store/store_executor.h"
#include "hart/referral/v1/intake.grpc.pb.h"

namespace hart {

class IntakeServiceImpl final : public v1::IntakeService::CallbackService {
 public:
  // Every reference must outlive the service. `observer` (may be null)
  // hears of submissions refused before the pipeline (no intake at all);
  // the pipeline's own observer hears of the rest.
  IntakeServiceImpl(IntakePipeline& pipeline, SupplementProcessor& supplements,
                    Authorizer& authorizer, StoreExecutor& executor,
                    IntakeObserver* observer = nullptr)
      : pipeline_(pipeline),
        supplements_(supplements),
        authorizer_(authorizer),
        executor_(executor),
        observer_(observer) {}

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
  StoreExecutor& executor_;
  IntakeObserver* const observer_;
};

}  // namespace hart
