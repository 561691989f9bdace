// Role checks at the gRPC edge against the authorization table
// (authorization_table.h), and the per-identity rate limit. A denial returns
// PERMISSION_DENIED (or UNAUTHENTICATED, RESOURCE_EXHAUSTED), changes nothing
// and is recorded in the audit log (rate-limit refusals are only logged:
// auditing a flood would make it a write amplifier). The audit write runs
// on the store executor: gRPC threads never wait for it.
//
// Draining (SIGTERM, BeginDrain): every call is refused UNAVAILABLE ("the
// broker is shutting down; retry on another replica") before any other
// check, and open streams, which listen to drain_signal(), end with that
// status.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/api/identity.h"
#include "broker/api/rate_limiter.h"
#include "broker/common/drain_signal.h"
#include "broker/common/log_throttle.h"
#include "broker/clock.h"
#include "broker/store.h"
#include "broker/store/store_executor.h"
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
  // The agencies of the config: an agency certificate naming another is
  // refused (a certificate issued in error, or for an agency removed from
  // the config). Empty: not checked.
  std::set<std::string> agency_ids;
};

// The refusal of every call while the broker drains: UNAVAILABLE, marked
// as written for the client (WrittenForClient), so it reaches it unredacted.
absl::Status ShuttingDown();

class Authorizer {
 public:
  // What Decide found: the caller's identity, or the refusal and, when the
  // refusal must be audited, the access.denied event to record.
  struct Decision {
    absl::StatusOr<Identity> identity;
    std::optional<AuditEvent> denial;
  };
  using Decided = std::function<void(absl::StatusOr<Identity>)>;
  using Refused = std::function<void(absl::Status)>;

  // `store`, `clock` and `executor` must outlive the authorizer; denials
  // are recorded on `executor`.
  Authorizer(Store& store, const Clock& clock, AuthorizerOptions options,
             StoreExecutor& executor)
      : store_(store),
        clock_(clock),
        options_(options),
        executor_(executor),
        limiter_(clock, options.rate_per_second, options.rate_burst),
        rate_limited_log_(clock, kRateLimitedLogPeriod) {}

  // Whether the table lets the caller's role call `rpc` ("Service.Method")
  // and its rate allows another call. No I/O: a denial is not recorded yet
  // (Refuse does that).
  Decision Decide(const grpc::CallbackServerContext& context, const std::string& rpc);

  // The rate limit alone, for a stream's message that counts as a call (an
  // AcknowledgeStream batch): RESOURCE_EXHAUSTED, as Decide answers, when
  // `identity` is over it. No I/O.
  absl::Status AllowAnother(const Identity& identity, const std::string& rpc);

  // Records `decision`'s denial, if any, on the store executor, then gives
  // `then` the refusal to answer with: the decision's, or UNAVAILABLE when
  // the executor is full (a denial is never answered unaudited). `then`
  // runs on the executor, or on the calling thread without a denial to
  // record or when refused. `decision` must be a refusal.
  void Refuse(Decision decision, Refused then);

  // Decide, then: allowed, `then` gets the identity on the calling thread;
  // refused, as Refuse.
  void Authorize(const grpc::CallbackServerContext& context, const std::string& rpc,
                 Decided then);

  // Records a denial decided elsewhere (e.g. another agency's delivery).
  // Writes the audit log: call it on the store executor.
  void RecordDenial(const std::string& actor, const std::string& rpc,
                    const std::string& referral_id, const std::string& delivery_id);

  // A stream slot for `identity`: RESOURCE_EXHAUSTED when it already has
  // the maximum open. Every successful OpenStream needs one CloseStream.
  absl::Status OpenStream(const Identity& identity);
  void CloseStream(const Identity& identity);

  // From now on every call is refused with ShuttingDown(), and every
  // listener of drain_signal() runs. Idempotent.
  void BeginDrain() { drain_.Drain(); }
  // Open streams listen here and end with ShuttingDown() when it fires.
  DrainSignal& drain_signal() { return drain_; }

 private:
  Store& store_;
  const Clock& clock_;
  void Record(const AuditEvent& denial);
  absl::Status RateLimited(const Identity& identity, const std::string& rpc) const;

  // One rate_limited line per identity in this long, with the count held
  // back: a partner far over its rate must not flood the log.
  static constexpr absl::Duration kRateLimitedLogPeriod = absl::Seconds(10);

  const AuthorizerOptions options_;
  StoreExecutor& executor_;
  RateLimiter limiter_;
  mutable LogThrottle rate_limited_log_;
  DrainSignal drain_;
  absl::Mutex streams_mu_;
  std::map<std::string, uint32_t> open_streams_ ABSL_GUARDED_BY(streams_mu_);
};

}  // namespace hart
