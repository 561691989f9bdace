// store.postgres: the PostgreSQL backend's settings, checked when the config
// loads (so `hart-broker --check-config` reports them) and turned into what
// the store factory opens.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/store/postgres_store_options.h"
#include "hart/config/v1/broker_config.pb.h"

namespace hart {

// Appends every problem of store.postgres when store.backend is postgres.
void ValidatePostgresOptions(const config::v1::StoreOptions& store,
                             std::vector<std::string>* problems);

void ApplyPostgresDefaults(config::v1::PostgresOptions* postgres);

// The connection settings: conninfo, sslmode and the CA, the password read
// from its file (mode 600). Relative files are under
// `key_dir`. FAILED_PRECONDITION names a missing or unsafe password file.
absl::StatusOr<PostgresStoreOptions> ResolvePostgresOptions(
    const config::v1::PostgresOptions& postgres, const std::string& key_dir);

}  // namespace hart
