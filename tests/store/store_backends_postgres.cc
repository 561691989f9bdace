// The backends of store_conformance_postgres_test: PostgreSQL. The whole
// suite runs as one ctest test, in one process, so it starts one throw-away
// server (PostgresServer::Shared) instead of one per test case.
#include "tests/store/postgres_backend_factory.h"
#include "tests/store/store_backend_factory.h"

namespace hart::conformance {

std::vector<StoreBackendFactory> AllStoreBackends() { return {PostgresBackendFactory()}; }

}  // namespace hart::conformance
