// The backends of store_conformance_test: SQLite (each test case its own
// ctest test, run in parallel).
#include "tests/store/sqlite_backend_factory.h"
#include "tests/store/store_backend_factory.h"

namespace hart::conformance {

std::vector<StoreBackendFactory> AllStoreBackends() { return {SqliteBackendFactory()}; }

}  // namespace hart::conformance
