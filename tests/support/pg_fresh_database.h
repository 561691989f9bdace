// Connection options for a new, empty database on the shared throw-away
// PostgreSQL server (tests/support/postgres_server.h), for tests of the
// PostgreSQL backend's own pieces. Header-only: its users link the backend.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "broker/common/secret_file.h"
#include "broker/store/postgres/pg_conn.h"
#include "tests/support/postgres_server.h"

namespace hart::testing {

inline absl::StatusOr<pg::PgConnectOptions> FreshDatabaseOptions(const std::string& prefix) {
  auto server = PostgresServer::Shared();
  if (!server.ok()) return server.status();
  auto database = (*server)->CreateDatabase(prefix);
  if (!database.ok()) return database.status();
  auto password = ReadSecretFile((*server)->password_file());
  if (!password.ok()) return password.status();
  pg::PgConnectOptions options;
  options.conninfo = (*server)->ConnectionString(*database);
  options.password = *password;
  return options;
}

}  // namespace hart::testing
