#include "broker/api/operator_service.h"

#include "absl/strings/str_cat.h"
#include "broker/api/status_mapping.h"
#include "broker/api/unary_call.h"

namespace hart {

grpc::ServerUnaryReactor* OperatorServiceImpl::RotateDataKeys(
    grpc::CallbackServerContext* context, const v1::RotateDataKeysRequest*,
    v1::RotateDataKeysResponse* response) {
  // Reads the key directory and rewraps every stored data key: all of it on
  // the store executor.
  return AnswerFromStore(
      authorizer_, executor_, context, "OperatorService.RotateDataKeys",
      [this, response](const Identity& identity) {
        if (auto s = keys_.Reload(); !s.ok()) return ToGrpcStatus(s);
        auto rewrapped = store_.RewrapDataKeys();
        if (!rewrapped.ok()) return ToGrpcStatus(rewrapped.status());
        AuditEvent rotated{clock_.Now(), identity.ToString(), "keys.rotated", "", "", "",
                           absl::StrCat("active=", keys_.active_key_id(),
                                        " rewrapped=", *rewrapped)};
        if (auto s = store_.AppendAudit({&rotated, 1}); !s.ok()) return ToGrpcStatus(s);
        response->set_active_key_id(keys_.active_key_id());
        response->set_rewrapped(*rewrapped);
        return grpc::Status::OK;
      });
}

}  // namespace hart
