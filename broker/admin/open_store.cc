#include "broker/admin/open_store.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "broker/store/store_factory.h"

namespace hart::admin {
namespace {

namespace fs = std::filesystem;

// The embedded SQLite store. Opening would create a missing store; an
// admin tool must not, so its file is looked for first.
absl::StatusOr<std::unique_ptr<Store>> OpenSqlite(const std::string& data_dir,
                                                  crypto::KeyRing& keys) {
  std::error_code ec;
  if (!fs::is_regular_file(fs::path(data_dir) / "hart.db", ec)) {
    return absl::NotFoundError(absl::StrCat(
        data_dir, " holds no broker store; pass the broker's data directory (its --data-dir)"));
  }
  StoreOpenOptions options;
  options.backend = "sqlite";
  options.data_dir = data_dir;
  options.broker_id = "hart-admin";  // claims nothing; named for the record
  options.keys = &keys;
  return OpenStore(options);
}

}  // namespace

absl::StatusOr<std::unique_ptr<AdminStore>> OpenStoreForAdmin(const AdminStoreOptions& options) {
  if (options.data_dir.empty()) {
    return absl::InvalidArgumentError(
        "--data_dir is required: the stopped broker's data directory (its --data-dir)");
  }
  std::error_code ec;
  if (!fs::is_directory(options.data_dir, ec)) {
    return absl::NotFoundError(absl::StrCat("no data directory ", options.data_dir));
  }
  // KeyRing::Load would create a missing directory; hart-admin creates nothing.
  if (!fs::is_directory(options.key_dir, ec)) {
    return absl::NotFoundError(absl::StrCat(
        "no key directory ", options.key_dir,
        "; pass the broker's key directory (its --key-dir) with --key-dir"));
  }
  auto random = std::make_unique<CryptoRandom>();
  auto keys = crypto::KeyRing::Load(options.key_dir, /*create_if_empty=*/false, *random);
  if (!keys.ok()) return keys.status();
  auto store = OpenSqlite(options.data_dir, **keys);
  if (!store.ok()) return store.status();
  return std::make_unique<AdminStore>(std::move(random), std::move(*keys), std::move(*store));
}

}  // namespace hart::admin
