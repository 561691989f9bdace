// Which store the end-to-end tests' brokers use. By default the config's own
// (SQLite in the data directory). With HART_E2E_STORE=postgres, every broker
// gets a copy of its config whose store is a database of its own on the
// test process's throw-away PostgreSQL (tests/support/postgres_server.h);
// a broker restarted on the same data directory gets the same database.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace hart::testing {

// Whether HART_E2E_STORE=postgres.
bool E2eStoreIsPostgres();

// The config a broker on `data_dir` runs with: `config` itself, or (postgres)
// a copy beside the data directory with store.backend: postgres.
absl::StatusOr<std::string> ConfigForE2eStore(const std::string& config,
                                              const std::string& data_dir);

}  // namespace hart::testing
