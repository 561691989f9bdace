// How the store factory reaches a PostgreSQL database (store.backend:
// postgres); the config's store.postgres, resolved (broker/config/
// postgres_options.h).
#pragma once

#include <string>

#include "absl/time/time.h"

namespace hart {

struct PostgresStoreOptions {
  // libpq conninfo (keywords or a URI), without the password.
  std::string conninfo;
  // TLS to the database: libpq's sslmode and sslrootcert (empty: unset).
  std::string sslmode;
  std::string sslrootcert;
  // Empty: none.
  std::string password;
  int pool_size = 8;
  absl::Duration statement_timeout = absl::Seconds(30);
  absl::Duration idle_in_transaction_timeout = absl::Seconds(2);
};

}  // namespace hart
