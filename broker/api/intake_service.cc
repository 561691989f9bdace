#include "broker/api/intake_service.h"

#include "broker/api/status_mapping.h"
#include "broker/api/unary_call.h"
#include "broker/common/field_violations.h"

namespace hart {

grpc::ServerUnaryReactor* IntakeServiceImpl::SubmitIntake(
    grpc::CallbackServerContext* context, const v1::SubmitIntakeRequest* request,
    v1::SubmitIntakeResponse* response) {
  return AnswerLater(
      authorizer_, context, "IntakeService.SubmitIntake",
      [this, request, response](const Identity& identity, grpc::ServerUnaryReactor* reactor) {
        if (!request->has_intake()) {
          if (observer_ != nullptr) observer_->OnIntake(IntakeOutcome::kInvalid);
          reactor->Finish(ToGrpcStatus(InvalidArgumentWithViolations(
              "the request has no intake", {{"intake", "is required"}})));
          return;
        }
        // Validation and routing are CPU only, and the pipeline writes
        // through the writer queue: nothing here waits on the store, so no
        // hop to the executor. Answered by the group commit once durable.
        pipeline_.Submit(request->intake(), identity.ToString(),
                         [reactor, response](absl::StatusOr<v1::Receipt> receipt) {
                           if (receipt.ok()) *response->mutable_receipt() = std::move(*receipt);
                           reactor->Finish(ToGrpcStatus(receipt.status()));
                         });
      });
}

grpc::ServerUnaryReactor* IntakeServiceImpl::SupplementIntake(
    grpc::CallbackServerContext* context, const v1::SupplementIntakeRequest* request,
    v1::SupplementIntakeResponse* response) {
  return AnswerFromStore(authorizer_, executor_, context, "IntakeService.SupplementIntake",
                         [this, request, response](const Identity& identity) {
                           auto result = supplements_.Apply(*request, identity.ToString());
                           if (result.ok()) *response = std::move(*result);
                           return ToGrpcStatus(result.status());
                         });
}

}  // namespace hart
