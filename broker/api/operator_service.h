// gRPC edge of OperatorService (operator role).
#pragma once

#include "broker/api/authorizer.h"
#include "broker/crypto/key_ring.h"
#include "broker/store.h"
#include "broker/store/store_executor.h"
#include "hart/referral/v1/operator.grpc.pb.h"

namespace hart {

class OperatorServiceImpl final : public v1::OperatorService::CallbackService {
 public:
  // Every reference must outlive the service.
  OperatorServiceImpl(Store& store, crypto::KeyRing& keys, Authorizer& authorizer,
                      const Clock& clock, StoreExecutor& executor)
      : store_(store), keys_(keys), authorizer_(authorizer), clock_(clock), executor_(executor) {}

  grpc::ServerUnaryReactor* RotateDataKeys(grpc::CallbackServerContext* context,
                                           const v1::RotateDataKeysRequest* request,
                                           v1::RotateDataKeysResponse* response) override;

 private:
  Store& store_;
  crypto::KeyRing& keys_;
  Authorizer& authorizer_;
  const Clock& clock_;
  StoreExecutor& executor_;
};

}  // namespace hart
