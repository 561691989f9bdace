#include "tests/store/sqlite_backend_factory.h"

#include <filesystem>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "broker/common/crypto_random.h"
#include "broker/crypto/key_ring.h"
#include "broker/store/sqlite/sqlite_db.h"
#include "broker/store/store_factory.h"
#include "tests/support/test_support.h"

namespace hart::conformance {
namespace {

class SqliteBackend final : public BackendUnderTest {
 public:
  // Destroyed with its test, after every Store it opened: a statement that
  // SQLite re-planned on every execution fails the test that ran it.
  ~SqliteBackend() override {
    for (const std::string& sql : sqlite::TakeReplannedStatements()) {
      ADD_FAILURE() << "SQLite prepared this statement again on every bind (write the value "
                       "that selects a partial index into the SQL): "
                    << sql;
    }
  }

  static absl::StatusOr<std::unique_ptr<BackendUnderTest>> Create() {
    auto backend = std::unique_ptr<SqliteBackend>(new SqliteBackend());
    auto keys = crypto::KeyRing::Load(backend->root_.path() + "/keys",
                                      /*create_if_empty=*/true, backend->random_);
    if (!keys.ok()) return keys.status();
    backend->keys_ = std::move(*keys);
    return backend;
  }

  absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& broker_id) override {
    StoreOpenOptions options;
    options.backend = "sqlite";
    options.data_dir = DataDir();
    options.broker_id = broker_id;
    options.keys = keys_.get();
    return OpenStore(options);
  }

  absl::StatusOr<std::string> RawBytes() override {
    std::string all;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(DataDir(), ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file()) continue;
      std::ifstream in(it->path(), std::ios::binary);
      if (!in) return absl::UnavailableError(absl::StrCat("cannot read ", it->path().string()));
      all.append(std::istreambuf_iterator<char>(in), {});
    }
    if (ec) {
      return absl::UnavailableError(absl::StrCat("cannot list ", DataDir(), ": ", ec.message()));
    }
    return all;
  }

 private:
  SqliteBackend() = default;
  std::string DataDir() const { return root_.path() + "/data"; }

  testing::TempDir root_;  // removed with the backend
  CryptoRandom random_;    // outlives keys_, which draws from it
  std::unique_ptr<crypto::KeyRing> keys_;
};

}  // namespace

StoreBackendFactory SqliteBackendFactory() {
  return {.name = "sqlite",
          .create = &SqliteBackend::Create,
          // Contract deviations found by the suite; none open.
          .known_bugs = {}};
}

}  // namespace hart::conformance
