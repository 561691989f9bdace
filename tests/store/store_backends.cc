#include "tests/store/postgres_backend_factory.h"
#include "tests/store/sqlite_backend_factory.h"
#include "tests/store/store_backend_factory.h"

namespace hart::conformance {

std::vector<StoreBackendFactory> AllStoreBackends() {
  return {SqliteBackendFactory(), PostgresBackendFactory()};
}

}  // namespace hart::conformance
