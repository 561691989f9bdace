// The PostgreSQL schema and its versioned migrations.
#pragma once

#include "absl/status/status.h"
#include "broker/store/postgres/pg_conn.h"

namespace hart::pg {

// Creates the schema or migrates an older one to the current version, under
// an advisory lock so that replicas starting together migrate once.
// FAILED_PRECONDITION if the database is newer than this binary.
absl::Status ApplySchema(PgConn& conn);

}  // namespace hart::pg
