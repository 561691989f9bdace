// GET /dashboard/api/escalations: escalation steps as server-sent events,
//   id: <sequence>
//   event: escalation
//   data: <EscalationEvent as proto JSON>
// first those after the request's Last-Event-ID (a reconnecting
// EventSource sends the last one it saw; none: from the start), then live
// ones as the escalation hub announces them. The store is read a page at a
// time on the executor; a client too slow for the ops server's stream
// buffer is cut off and resumes from its Last-Event-ID.
#pragma once

#include "broker/dashboard/dashboard_services.h"
#include "broker/ops/ops_http.h"

namespace hart::dashboard {

void ServeEscalations(const DashboardServices& services, const ops::OpsRequest& request,
                      const ops::Reply& reply);

}  // namespace hart::dashboard
