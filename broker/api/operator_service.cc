#include "broker/api/operator_service.h"

#include "absl/strings/str_cat.h"
#include "broker/api/status_mapping.h"

namespace hart {

grpc::ServerUnaryReactor* OperatorServiceImpl::RotateDataKeys(
    grpc::CallbackServerContext* context, const v1::RotateDataKeysRequest*,
    v1::RotateDataKeysResponse* response) {
  auto* reactor = context->DefaultReactor();
  auto identity = authorizer_.Require(*context, "OperatorService.RotateDataKeys");
  if (!identity.ok()) {
    reactor->Finish(ToGrpcStatus(identity.status()));
    return reactor;
  }
  if (auto s = keys_.Reload(); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  auto rewrapped = store_.RewrapDataKeys();
  if (!rewrapped.ok()) {
    reactor->Finish(ToGrpcStatus(rewrapped.status()));
    return reactor;
  }
  AuditEvent rotated{clock_.Now(), identity->ToString(), "keys.rotated", "", "", "",
                     absl::StrCat("active=", keys_.active_key_id(), " rewrapped=", *rewrapped)};
  if (auto s = store_.AppendAudit({&rotated, 1}); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  response->set_active_key_id(keys_.active_key_id());
  response->set_rewrapped(*rewrapped);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace hart
