// The one place hart-admin opens a broker's store. Every admin command goes
// through OpenStoreForAdmin, so a new backend (e.g. a --backend postgres
// option) is chosen here and every command works on it unchanged.
//
// The store is opened the way the broker opens it, through the Store
// interface, and so holds the data directory's lock while open: while a
// broker runs on it, opening is refused (FAILED_PRECONDITION) and nothing
// is read or written.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "broker/common/crypto_random.h"
#include "broker/crypto/key_ring.h"
#include "broker/store.h"

namespace hart::admin {

struct AdminStoreOptions {
  // The broker's data directory (hart-broker --data-dir). Required; it must
  // exist and hold a store: hart-admin never creates one.
  std::string data_dir;
  // The broker's key-encryption keys (hart-broker --key-dir), needed to open
  // the store. Must exist and hold a key: hart-admin never creates keys.
  // Default: var/keys, as for hart-broker.
  std::string key_dir = "var/keys";
};

// An open store and the keys it was opened with. Destroying it closes the
// store (releasing the data directory) before the keys go.
class AdminStore {
 public:
  AdminStore(std::unique_ptr<CryptoRandom> random, std::unique_ptr<crypto::KeyRing> keys,
             std::unique_ptr<Store> store)
      : random_(std::move(random)), keys_(std::move(keys)), store_(std::move(store)) {}

  Store& store() { return *store_; }

 private:
  // Declared in dependency order: the store uses the keys, the keys the random source.
  std::unique_ptr<CryptoRandom> random_;
  std::unique_ptr<crypto::KeyRing> keys_;
  std::unique_ptr<Store> store_;
};

// NOT_FOUND if the data directory, its store or the key directory is
// missing; FAILED_PRECONDITION if a broker holds the data directory or the
// key directory has no usable key.
absl::StatusOr<std::unique_ptr<AdminStore>> OpenStoreForAdmin(const AdminStoreOptions& options);

}  // namespace hart::admin
