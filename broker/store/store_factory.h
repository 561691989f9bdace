// Opens the Store the core uses: the backend the config names, under the
// envelope layer (encryption at rest). The one place that knows which
// backends exist; the composition root and the admin tool call it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/crypto/key_ring.h"
#include "broker/replica_signals.h"
#include "broker/store.h"
#include "broker/store/postgres_store_options.h"

namespace hart {

struct StoreOpenOptions {
  // Which backend: one of KnownStoreBackends(). Default: "sqlite".
  std::string backend = "sqlite";
  // sqlite: the data directory (created if missing; one process at a time).
  std::string data_dir;
  // postgres: how to reach the database (several brokers may share it,
  // each with its own broker_id).
  PostgresStoreOptions postgres;
  // Recorded on this broker's claims; its own earlier claims are the only
  // ones ReleaseClaims gives back. Default: "broker".
  std::string broker_id = "broker";
  // Key-encryption keys; must outlive the store. Unset (sqlite only): a key
  // directory "<data_dir>.keys" beside the data directory, created if empty
  // (tests, tools on a copy of the data).
  crypto::KeyRing* keys = nullptr;
};

// The backend names OpenStore accepts.
std::vector<std::string> KnownStoreBackends();

// INVALID_ARGUMENT for an unknown backend; the backend's own errors else
// (e.g. FAILED_PRECONDITION when another broker holds the data directory).
absl::StatusOr<std::unique_ptr<Store>> OpenStore(const StoreOpenOptions& options);

// Follows the commits other brokers make on the same store (postgres:
// LISTEN/NOTIFY on a connection of its own); null for a backend that only
// one broker uses (sqlite).
absl::StatusOr<std::unique_ptr<ReplicaSignals>> FollowOtherReplicas(
    const StoreOpenOptions& options, ReplicaSignalHandlers handlers);

// OpenStore on the SQLite backend in `data_dir` (tests and tools).
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& data_dir,
                                                       crypto::KeyRing* keys = nullptr);

}  // namespace hart
