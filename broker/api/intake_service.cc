#include "broker/api/intake_service.h"

#include "broker/api/status_mapping.h"
#include "broker/common/field_violations.h"

namespace hart {

grpc::ServerUnaryReactor* IntakeServiceImpl::SubmitIntake(
    grpc::CallbackServerContext* context, const v1::SubmitIntakeRequest* request,
    v1::SubmitIntakeResponse* response) {
  auto* reactor = context->DefaultReactor();
  auto identity = authorizer_.Require(*context, "IntakeService.SubmitIntake");
  if (!identity.ok()) {
    reactor->Finish(ToGrpcStatus(identity.status()));
    return reactor;
  }
  if (!request->has_intake()) {
    reactor->Finish(ToGrpcStatus(InvalidArgumentWithViolations(
        "the request has no intake", {{"intake", "is required"}})));
    return reactor;
  }
  pipeline_.Submit(request->intake(), identity->ToString(),
                   [reactor, response](absl::StatusOr<v1::Receipt> receipt) {
                     if (receipt.ok()) *response->mutable_receipt() = std::move(*receipt);
                     reactor->Finish(ToGrpcStatus(receipt.status()));
                   });
  return reactor;
}

grpc::ServerUnaryReactor* IntakeServiceImpl::SupplementIntake(
    grpc::CallbackServerContext* context, const v1::SupplementIntakeRequest* request,
    v1::SupplementIntakeResponse* response) {
  auto* reactor = context->DefaultReactor();
  auto identity = authorizer_.Require(*context, "IntakeService.SupplementIntake");
  if (!identity.ok()) {
    reactor->Finish(ToGrpcStatus(identity.status()));
    return reactor;
  }
  auto result = supplements_.Apply(*request, identity->ToString());
  if (result.ok()) *response = std::move(*result);
  reactor->Finish(ToGrpcStatus(result.status()));
  return reactor;
}

}  // namespace hart
