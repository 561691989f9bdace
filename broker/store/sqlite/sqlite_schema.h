// The SQLite schema and its versioned migrations.
#pragma once

#include "absl/status/status.h"
#include "broker/store/sqlite/sqlite_db.h"

namespace hart::sqlite {

// Creates the schema or migrates an older one to the current version.
// FAILED_PRECONDITION if the database is newer than this binary.
absl::Status ApplySchema(SqliteDb& db);

}  // namespace hart::sqlite
