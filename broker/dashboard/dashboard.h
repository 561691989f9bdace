// The supervisors' dashboard on the operations port (SPEC §2, §9): pages
// under /dashboard/, their assets compiled into the binary, for supervisors
// only. Sign-in: a supervisor's client certificate, or a one-time link
// (CreateLogin, for `hartctl dashboard`) exchanged at /dashboard/login for
// a session cookie (HttpOnly; Secure; SameSite=Strict; Path=/dashboard).
// Every response forbids anything but this origin (Content-Security-Policy
// default-src 'self') and framing.
//
// Thread safety: Register before the server serves; CreateLogin from any
// thread. It must outlive the ops server it is registered on.
#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker/api/identity.h"
#include "broker/clock.h"
#include "broker/dashboard/dashboard_services.h"
#include "broker/dashboard/login_links.h"
#include "broker/dashboard/request_auth.h"
#include "broker/dashboard/sessions.h"
#include "broker/ops/router.h"
#include "broker/random.h"

namespace hart::dashboard {

struct DashboardOptions {
  // "https://127.0.0.1:9444": where links point (the ops port as bound).
  std::function<std::string()> origin;
  absl::Duration link_lifetime = absl::Minutes(5);
  SessionLimits sessions;
};

class Dashboard {
 public:
  // `clock` and `random` must outlive it; `services` as they say.
  Dashboard(const Clock& clock, RandomSource& random, DashboardOptions options,
            DashboardServices services);

  // A one-time sign-in link for `identity` (a supervisor: the caller
  // checked). FAILED_PRECONDITION when the ops port is off.
  absl::StatusOr<std::pair<std::string, absl::Time>> CreateLogin(const Identity& identity);

  // Adds the dashboard's pages, /favicon.ico and the sign-in link's page.
  absl::Status Register(ops::Router& router);

 private:
  void ServeLogin(const ops::OpsRequest& request, const ops::Reply& reply);
  void ServePage(const ops::OpsRequest& request, const ops::Reply& reply);
  void ServeAction(const ops::OpsRequest& request, const ops::Reply& reply);
  // A session for `identity`, kept only once its sign-in ("dashboard.signed_in",
  // `via` saying how) is in the audit log; `done` runs on the store executor.
  void SignIn(const Identity& identity, const char* via,
              std::function<void(absl::StatusOr<NewSession>)> done);

  const Clock& clock_;
  DashboardOptions options_;
  const DashboardServices services_;
  LoginLinks links_;
  Sessions sessions_;
};

}  // namespace hart::dashboard
