// The SQLite backend of the conformance suite: a temporary data directory
// and, apart from it, a key directory (as in production: the data directory
// alone must reveal no PII).
#pragma once

#include "tests/store/store_backend_factory.h"

namespace hart::conformance {

StoreBackendFactory SqliteBackendFactory();

}  // namespace hart::conformance
