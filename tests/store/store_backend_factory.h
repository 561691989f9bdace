// What the store conformance suite needs from a Store backend: a fresh,
// empty instance per test that it can open, close and open again, and whose
// persisted bytes it can inspect.
//
// A backend joins the suite with one StoreBackendFactory appended to
// AllStoreBackends() (store_backends.cc); every conformance test then runs
// against it unchanged.
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/store.h"

namespace hart::conformance {

// One backend instance, owned by one test. Destroying it removes everything
// it persisted (cleanup); every Store it opened must be destroyed first.
class BackendUnderTest {
 public:
  virtual ~BackendUnderTest() = default;

  // Opens the store: the first time an empty one, afterwards the same data
  // again, as a restarted broker sees it. At most one Store at a time.
  // `broker_id` names the claims this store makes (StoreOpenOptions).
  virtual absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& broker_id) = 0;
  absl::StatusOr<std::unique_ptr<Store>> Open() { return Open("broker"); }

  // Every byte the backend persisted, concatenated in any order (for SQLite
  // every file of the data directory, WAL included). Tests search it for
  // plaintext PII. May be called while a Store is open.
  virtual absl::StatusOr<std::string> RawBytes() = 0;
};

struct StoreBackendFactory {
  // Suffix of the test names, e.g. "sqlite": letters, digits, underscores.
  std::string name;
  // Makes a fresh, empty backend instance. UNAVAILABLE skips the test (e.g.
  // a server-backed store with no server configured on this machine).
  std::function<absl::StatusOr<std::unique_ptr<BackendUnderTest>>()> create;
  // Ids of known bugs of this backend (see KnownBug in conformance_fixture.h):
  // the tests that reveal them are skipped for this backend only, and run
  // again as soon as the id is removed from here.
  std::set<std::string> known_bugs;
};

// Every backend the suite runs against.
std::vector<StoreBackendFactory> AllStoreBackends();

}  // namespace hart::conformance
