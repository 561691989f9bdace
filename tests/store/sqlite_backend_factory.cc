#include "tests/store/sqlite_backend_factory.h"

#include <filesystem>
#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "broker/common/crypto_random.h"
#include "broker/crypto/key_ring.h"
#include "broker/store/sqlite/sqlite_store.h"
#include "tests/support/test_support.h"

namespace hart::conformance {
namespace {

class SqliteBackend final : public StoreBackend {
 public:
  static absl::StatusOr<std::unique_ptr<StoreBackend>> Create() {
    auto backend = std::unique_ptr<SqliteBackend>(new SqliteBackend());
    auto keys = crypto::KeyRing::Load(backend->root_.path() + "/keys",
                                      /*create_if_empty=*/true, backend->random_);
    if (!keys.ok()) return keys.status();
    backend->keys_ = std::move(*keys);
    return backend;
  }

  absl::StatusOr<std::unique_ptr<Store>> Open() override {
    auto store = SqliteStore::Open(DataDir(), keys_.get());
    if (!store.ok()) return store.status();
    return std::unique_ptr<Store>(std::move(*store));
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
          // Contract deviations found by the suite (store.h: "NOT_FOUND for
          // unknown ids"); each skips one test in error_conformance_test.cc.
          // Remove an id once SqliteStore is fixed.
          .known_bugs = {
              // ApplyAck of an unknown delivery answers ABORTED.
              "ack-of-unknown-delivery-not-found",
              // AppendToFeeds of an unknown delivery answers ALREADY_EXISTS.
              "feed-append-of-unknown-delivery-not-found",
              // SealReferral of an unknown referral answers FAILED_PRECONDITION.
              "seal-of-unknown-referral-not-found",
          }};
}

}  // namespace hart::conformance
