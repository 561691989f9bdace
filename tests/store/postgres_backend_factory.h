// The PostgreSQL backend of the conformance suite: one throw-away
// PostgreSQL 15 for the test process (tests/support/postgres_server.h),
// a fresh database per test, and a key directory apart from it.
#pragma once

#include "tests/store/store_backend_factory.h"

namespace hart::conformance {

StoreBackendFactory PostgresBackendFactory();

}  // namespace hart::conformance
