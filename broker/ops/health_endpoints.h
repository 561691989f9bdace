// Health on the operations port. No identity is needed: they say nothing
// about referrals.
//   GET /livez    200 "ok": the process answers.
//   GET /readyz   200 if the broker can take intakes (ReadinessMonitor),
//                 else 503; the body lists every check and why it failed.
//   GET /healthz  the same as /readyz (the name SPEC §9 uses).
#pragma once

#include "absl/status/status.h"
#include "broker/ops/readiness.h"
#include "broker/ops/router.h"

namespace hart::ops {

// `readiness` must outlive the server serving `router`.
absl::Status AddHealthEndpoints(Router& router, ReadinessMonitor& readiness);

}  // namespace hart::ops
