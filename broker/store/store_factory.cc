#include "broker/store/store_factory.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/common/crypto_random.h"
#include "broker/store/envelope/envelope_store.h"
#include "broker/store/postgres/pg_backend.h"
#include "broker/store/postgres/pg_listener.h"
#include "broker/store/sqlite/sqlite_backend.h"
#include "broker/store/store_wrapper.h"

namespace hart {
namespace {

// What an opened store owns, destroyed after the wrapper that uses it
// (bases are destroyed in reverse order of declaration).
struct StoreParts {
  std::unique_ptr<CryptoRandom> random = std::make_unique<CryptoRandom>();
  std::unique_ptr<crypto::KeyRing> own_keys;
  std::unique_ptr<StoreBackend> backend;
  std::unique_ptr<envelope::EnvelopeStore> envelope;
};

class OwningStore final : private StoreParts, public StoreWrapper {
 public:
  explicit OwningStore(StoreParts parts)
      : StoreParts(std::move(parts)), StoreWrapper(*StoreParts::envelope) {}
};

pg::PgConnectOptions PostgresConnectOptions(const PostgresStoreOptions& options) {
  pg::PgConnectOptions connect;
  connect.conninfo = options.conninfo;
  connect.password = options.password;
  if (!options.sslmode.empty()) connect.keywords.emplace_back("sslmode", options.sslmode);
  if (!options.sslrootcert.empty()) {
    connect.keywords.emplace_back("sslrootcert", options.sslrootcert);
  }
  connect.statement_timeout = options.statement_timeout;
  connect.idle_in_transaction_timeout = options.idle_in_transaction_timeout;
  return connect;
}

}  // namespace

std::vector<std::string> KnownStoreBackends() { return {"sqlite", "postgres"}; }

absl::StatusOr<std::unique_ptr<Store>> OpenStore(const StoreOpenOptions& options) {
  StoreParts parts;
  if (options.backend == "sqlite") {
    auto backend = SqliteBackend::Open({options.data_dir, options.broker_id});
    if (!backend.ok()) return backend.status();
    parts.backend = std::move(*backend);
  } else if (options.backend == "postgres") {
    if (options.keys == nullptr) {
      return absl::InvalidArgumentError("the PostgreSQL store needs the key-encryption keys");
    }
    PostgresBackendOptions pg;
    pg.connect = PostgresConnectOptions(options.postgres);
    pg.pool_size = options.postgres.pool_size;
    pg.broker_id = options.broker_id;
    auto backend = PostgresBackend::Open(std::move(pg));
    if (!backend.ok()) return backend.status();
    parts.backend = std::move(*backend);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "store.backend '", options.backend, "' is not one of: ",
        absl::StrJoin(KnownStoreBackends(), ", ")));
  }
  crypto::KeyRing* keys = options.keys;
  if (keys == nullptr) {
    auto own = crypto::KeyRing::Load(options.data_dir + ".keys", /*create_if_empty=*/true,
                                      *parts.random);
    if (!own.ok()) return own.status();
    parts.own_keys = std::move(*own);
    keys = parts.own_keys.get();
  }
  auto envelope = envelope::EnvelopeStore::Open(*parts.backend, *keys);
  if (!envelope.ok()) return envelope.status();
  parts.envelope = std::move(*envelope);
  return std::unique_ptr<Store>(new OwningStore(std::move(parts)));
}

absl::StatusOr<std::unique_ptr<ReplicaSignals>> FollowOtherReplicas(
    const StoreOpenOptions& options, ReplicaSignalHandlers handlers) {
  if (options.backend != "postgres") return std::unique_ptr<ReplicaSignals>();
  auto listener = pg::PgListener::Start(PostgresConnectOptions(options.postgres),
                                        options.broker_id, std::move(handlers));
  if (!listener.ok()) return listener.status();
  return std::unique_ptr<ReplicaSignals>(std::move(*listener));
}

absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& data_dir,
                                                       crypto::KeyRing* keys) {
  StoreOpenOptions options;
  options.data_dir = data_dir;
  options.keys = keys;
  return OpenStore(options);
}

}  // namespace hart
