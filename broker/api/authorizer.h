// Role checks at the gRPC edge: which role may call which RPC. A denial
// returns PERMISSION_DENIED (or UNAUTHENTICATED), changes nothing and is
// recorded in the audit log.
#pragma once

#include <initializer_list>
#include <string>

#include "absl/status/statusor.h"
#include "broker/api/identity.h"
#include "broker/clock.h"
#include "broker/store.h"
#include "grpcpp/server_context.h"

namespace hart {

class Authorizer {
 public:
  // `store` and `clock` must outlive the authorizer.
  Authorizer(Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  // The caller's identity if its role is one of `allowed`.
  absl::StatusOr<Identity> Require(const grpc::CallbackServerContext& context,
                                   const std::string& rpc,
                                   std::initializer_list<Role> allowed);

  // Records a denial decided elsewhere (e.g. another agency's delivery).
  void RecordDenial(const std::string& actor, const std::string& rpc,
                    const std::string& referral_id, const std::string& delivery_id);

 private:
  Store& store_;
  const Clock& clock_;
};

}  // namespace hart
