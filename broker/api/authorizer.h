// Role checks at the gRPC edge against the authorization table
// (authorization_table.h), and the per-identity rate limit. A denial returns
// PERMISSION_DENIED (or UNAUTHENTICATED, RESOURCE_EXHAUSTED), changes nothing
// and is recorded in the audit log (rate-limit refusals are only logged:
// auditing a flood would make it a write amplifier).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include <map>

#include "absl/synchronization/mutex.h"
#include "broker/api/identity.h"
#include "broker/api/rate_limiter.h"
#include "broker/clock.h"
#include "broker/store.h"
#include "grpcpp/server_context.h"

namespace hart {

struct AuthorizerOptions {
  // Calls a second and at once per identity; 0 disables. Defaults 200 / 400.
  double rate_per_second = 200;
  double rate_burst = 400;
  // Open streams per identity. Default: 8.
  uint32_t max_streams_per_identity = 8;
  // Refuse unary calls without a deadline. Default: true.
  bool require_deadlines = true;
};

class Authorizer {
 public:
  // `store` and `clock` must outlive the authorizer.
  Authorizer(Store& store, const Clock& clock, AuthorizerOptions options = {})
      : store_(store),
        clock_(clock),
        options_(options),
        limiter_(clock, options.rate_per_second, options.rate_burst) {}

  // The caller's identity if the table lets its role call `rpc`
  // ("Service.Method") and its rate allows another call.
  absl::StatusOr<Identity> Require(const grpc::CallbackServerContext& context,
                                   const std::string& rpc);

  // Records a denial decided elsewhere (e.g. another agency's delivery).
  void RecordDenial(const std::string& actor, const std::string& rpc,
                    const std::string& referral_id, const std::string& delivery_id);

  // A stream slot for `identity`: RESOURCE_EXHAUSTED when it already has
  // the maximum open. Every successful OpenStream needs one CloseStream.
  absl::Status OpenStream(const Identity& identity);
  void CloseStream(const Identity& identity);

 private:
  Store& store_;
  const Clock& clock_;
  const AuthorizerOptions options_;
  RateLimiter limiter_;
  absl::Mutex streams_mu_;
  std::map<std::string, uint32_t> open_streams_ ABSL_GUARDED_BY(streams_mu_);
};

}  // namespace hart
