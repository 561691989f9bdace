#include "tests/store/postgres_backend_factory.h"

#include <libpq-fe.h>

#include "absl/strings/str_cat.h"
#include "broker/common/crypto_random.h"
#include "broker/common/secret_file.h"
#include "broker/crypto/key_ring.h"
#include "broker/store/postgres/pg_conn.h"
#include "broker/store/store_factory.h"
#include "tests/support/postgres_server.h"
#include "tests/support/test_support.h"

namespace hart::conformance {
namespace {

class PostgresBackend final : public BackendUnderTest {
 public:
  static absl::StatusOr<std::unique_ptr<BackendUnderTest>> Create() {
    auto server = testing::PostgresServer::Shared();
    if (!server.ok()) {
      // Not UNAVAILABLE (which would skip): CI installs PostgreSQL, so a
      // server that does not start is a failure to see.
      return absl::FailedPreconditionError(
          absl::StrCat("cannot start the test PostgreSQL: ", server.status().message()));
    }
    auto database = (*server)->CreateDatabase("conformance");
    if (!database.ok()) return database.status();
    auto password = ReadSecretFile((*server)->password_file());
    if (!password.ok()) return password.status();
    auto backend = std::unique_ptr<PostgresBackend>(
        new PostgresBackend(**server, *database, *password));
    auto keys = crypto::KeyRing::Load(backend->root_.path() + "/keys",
                                      /*create_if_empty=*/true, backend->random_);
    if (!keys.ok()) return keys.status();
    backend->keys_ = std::move(*keys);
    return backend;
  }

  ~PostgresBackend() override { (void)server_.DropDatabase(database_); }

  absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& broker_id) override {
    StoreOpenOptions options;
    options.backend = "postgres";
    options.postgres.conninfo = server_.ConnectionString(database_);
    options.postgres.password = password_;
    options.postgres.pool_size = 4;
    options.broker_id = broker_id;
    options.keys = keys_.get();
    return OpenStore(options);
  }

  // Every value of every column of every table, bytea decoded to its bytes,
  // so that plaintext stored anywhere is found whatever its encoding.
  absl::StatusOr<std::string> RawBytes() override {
    pg::PgConnectOptions connect;
    connect.conninfo = server_.ConnectionString(database_);
    connect.password = password_;
    auto conn = pg::PgConn::Connect(connect);
    if (!conn.ok()) return conn.status();
    auto columns = (*conn)->Query(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position");
    if (!columns.ok()) return columns.status();
    std::string all;
    for (int c = 0; c < columns->rows(); ++c) {
      const std::string table = columns->Text(c, 0);
      const std::string column = columns->Text(c, 1);
      const bool bytes = columns->Text(c, 2) == "bytea";
      auto values = (*conn)->Query(absl::StrCat("SELECT \"", column, "\"", bytes ? "" : "::text",
                                                " FROM \"", table, "\""));
      if (!values.ok()) return values.status();
      for (int r = 0; r < values->rows(); ++r) {
        if (values->IsNull(r, 0)) continue;
        all += bytes ? values->Bytes(r, 0) : values->Text(r, 0);
        all.push_back('\n');
      }
    }
    return all;
  }

 private:
  PostgresBackend(testing::PostgresServer& server, std::string database, std::string password)
      : server_(server), database_(std::move(database)), password_(std::move(password)) {}

  testing::PostgresServer& server_;
  const std::string database_;
  const std::string password_;
  testing::TempDir root_;  // the key directory; removed with the backend
  CryptoRandom random_;    // outlives keys_, which draws from it
  std::unique_ptr<crypto::KeyRing> keys_;
};

}  // namespace

StoreBackendFactory PostgresBackendFactory() {
  return {.name = "postgres",
          .create = &PostgresBackend::Create,
          .known_bugs = {}};
}

}  // namespace hart::conformance
