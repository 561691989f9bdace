// The dashboard's read API, JSON for the page's script (proto JSON of the
// SupervisorService messages), answered from the store executor:
//   GET /dashboard/api/overdue?region=&agency=&rule=&state=
//   GET /dashboard/api/dead-letters?region=&agency=&rule=
//   GET /dashboard/api/referral?id=<referral id or Careline report id>
//   GET /dashboard/api/adapters
//   GET /dashboard/api/report?kind=missing-from-care|ack-times&from=YYYY-MM&to=YYYY-MM
//   GET /dashboard/api/report?kind=annual&year=YYYY
// List views carry ids, agencies, states and deadlines only (no Careline
// report id, no town); a referral's view is an audited read under the
// caller's identity, and so is a report.
#pragma once

#include <string>

#include "broker/api/identity.h"
#include "broker/dashboard/dashboard_services.h"
#include "broker/ops/ops_http.h"

namespace hart::dashboard {

// False (nothing answered) if `request`'s path is none of the above.
bool ServeRead(const DashboardServices& services, const Identity& caller,
               const ops::OpsRequest& request, const ops::Reply& reply);

}  // namespace hart::dashboard
