// The dashboard's actions, each with a required reason (audited, as the
// gRPC calls audit them, under the caller's identity):
//   POST /dashboard/api/redeliver       {"deliveryId", "toAgencyId"?, "reason"}
//   POST /dashboard/api/acknowledge     {"deliveryId", "kind", "reason", "note"?}
//   POST /dashboard/api/redeliver-bulk  {"deliveryIds": [...], "reason"}
// Bulk redelivery acts on exactly the ids the page showed and sent, never
// on "whatever matches now"; it answers per id. The caller has passed the
// CSRF and Origin checks (request_auth.h).
#pragma once

#include "broker/api/identity.h"
#include "broker/dashboard/dashboard_services.h"
#include "broker/ops/ops_http.h"

namespace hart::dashboard {

// Most ids one bulk redelivery takes.
inline constexpr int kMaxBulkRedeliveries = 100;

// False (nothing answered) if `request`'s path is none of the above.
bool ServeAction(const DashboardServices& services, const Identity& caller,
                 const ops::OpsRequest& request, const ops::Reply& reply);

}  // namespace hart::dashboard
