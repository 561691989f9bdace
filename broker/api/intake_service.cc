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
          reactor->Finish(ToGrpcStatus(InvalidArgumentWithViolations(
              "the request has no intake", {{"intake", "is required"}})));
          return;
        }
        // On the executor: a rejected intake is audited there (a write); an
        // accepted one is answered by the group commit once durable.
        absl::Status queued =
            executor_.Submit([this, request, response, reactor, actor = identity.ToString()] {
              pipeline_.Submit(request->intake(), actor,
                               [reactor, response](absl::StatusOr<v1::Receipt> receipt) {
                                 if (receipt.ok()) {
                                   *response->mutable_receipt() = std::move(*receipt);
                                 }
                                 reactor->Finish(ToGrpcStatus(receipt.status()));
                               });
            });
        if (!queued.ok()) reactor->Finish(ToGrpcStatus(queued));
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
