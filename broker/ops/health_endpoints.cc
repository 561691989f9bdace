#include "broker/ops/health_endpoints.h"

namespace hart::ops {

absl::Status AddHealthEndpoints(Router& router, ReadinessMonitor& readiness) {
  if (auto s = router.Handle("GET", "/livez", PathMatch::kExact,
                             [](const OpsRequest&, Reply reply) {
                               reply.Respond({200, "text/plain; charset=utf-8", {}, "ok\n"});
                             });
      !s.ok()) {
    return s;
  }
  // Evaluating reads counters under short locks: no I/O, fit for the I/O
  // thread.
  const Handler ready = [&readiness](const OpsRequest&, Reply reply) {
    const ReadinessReport report = readiness.Evaluate();
    reply.Respond({report.ready ? 200 : 503, "text/plain; charset=utf-8", {}, report.ToText()});
  };
  for (const char* path : {"/readyz", "/healthz"}) {
    if (auto s = router.Handle("GET", path, PathMatch::kExact, ready); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace hart::ops
