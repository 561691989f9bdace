#include "tests/store/sqlite_backend_factory.h"
#include "tests/store/store_backend_factory.h"

namespace hart::conformance {

std::vector<StoreBackendFactory> AllStoreBackends() {
  // Append further backends (PostgreSQL) here.
  return {SqliteBackendFactory()};
}

}  // namespace hart::conformance
