// store.postgres: what --check-config reports, and what the broker opens.
#include "broker/config/postgres_options.h"

#include <sys/stat.h>

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace hart {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

config::v1::StoreOptions Postgres(const std::string& conninfo) {
  config::v1::StoreOptions store;
  store.set_backend("postgres");
  store.set_broker_id("broker-1");
  store.mutable_postgres()->set_conninfo(conninfo);
  store.mutable_postgres()->set_ca_file("db-ca.crt");
  return store;
}

std::string Problems(const config::v1::StoreOptions& store) {
  std::vector<std::string> problems;
  ValidatePostgresOptions(store, &problems);
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  return all;
}

TEST(PostgresOptionsTest, AGoodConfigHasNoProblems) {
  EXPECT_THAT(Problems(Postgres("host=db.example port=5432 dbname=hart user=hart")), IsEmpty());
}

TEST(PostgresOptionsTest, SqliteIgnoresThePostgresSettings) {
  config::v1::StoreOptions store = Postgres("");
  store.set_backend("sqlite");
  EXPECT_THAT(Problems(store), IsEmpty());
}

TEST(PostgresOptionsTest, EveryProblemIsNamedByItsKey) {
  EXPECT_THAT(Problems(Postgres("")),
              HasSubstr("store.postgres.conninfo: required when store.backend is postgres"));
  EXPECT_THAT(Problems(Postgres("host=db port")), HasSubstr("store.postgres.conninfo: "));
  EXPECT_THAT(Problems(Postgres("host=db password=hunter2")),
              AllOf(HasSubstr("must not hold the password"),
                    HasSubstr("store.postgres.password_file"), Not(HasSubstr("hunter2"))));
  EXPECT_THAT(Problems(Postgres("host=db sslmode=disable")),
              HasSubstr("store.postgres.conninfo: set sslmode with store.postgres.sslmode"));
  EXPECT_THAT(Problems(Postgres("host=db sslrootcert=/x")),
              HasSubstr("set sslrootcert with store.postgres.ca_file"));

  config::v1::StoreOptions store = Postgres("host=db");
  store.mutable_postgres()->set_sslmode("prefer");
  store.mutable_postgres()->set_pool_size(1000);
  store.mutable_postgres()->mutable_statement_timeout()->set_seconds(-1);
  store.mutable_postgres()->mutable_idle_in_transaction_timeout()->set_nanos(1000);
  EXPECT_THAT(Problems(store),
              AllOf(HasSubstr("store.postgres.sslmode: 'prefer' is not one of"),
                    HasSubstr("store.postgres.pool_size: 1000 is too many; use 1 to 256"),
                    HasSubstr("store.postgres.statement_timeout: must be positive"),
                    HasSubstr("store.postgres.idle_in_transaction_timeout: must be at least 1ms")));
}

TEST(PostgresOptionsTest, EveryReplicaMustNameItself) {
  config::v1::StoreOptions store = Postgres("host=db");
  store.clear_broker_id();
  EXPECT_THAT(Problems(store), HasSubstr("store.broker_id: required with store.backend postgres"));
}

TEST(PostgresOptionsTest, VerifyingTheServerNeedsItsCa) {
  config::v1::StoreOptions store = Postgres("host=db");
  store.mutable_postgres()->clear_ca_file();
  EXPECT_THAT(Problems(store),
              HasSubstr("store.postgres.ca_file: required with sslmode verify-full"));
  store.mutable_postgres()->set_sslmode("require");
  EXPECT_THAT(Problems(store), IsEmpty());
}

TEST(PostgresOptionsTest, ResolvingAddsTlsAndReadsThePasswordFileUnderTheKeyDir) {
  testing::TempDir keys;
  const std::string file = keys.path() + "/db.password";
  std::ofstream(file) << "s3cret\n";
  ASSERT_EQ(::chmod(file.c_str(), 0600), 0);
  config::v1::PostgresOptions pg = Postgres("host=db dbname=hart").postgres();
  pg.set_password_file("db.password");
  ApplyPostgresDefaults(&pg);
  auto resolved = ResolvePostgresOptions(pg, keys.path());
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->password, "s3cret");
  EXPECT_EQ(resolved->conninfo, "host=db dbname=hart");
  EXPECT_EQ(resolved->sslmode, "verify-full");
  EXPECT_EQ(resolved->sslrootcert, keys.path() + "/db-ca.crt");
  EXPECT_EQ(resolved->pool_size, 8);
  EXPECT_EQ(resolved->statement_timeout, absl::Seconds(30));
  EXPECT_EQ(resolved->idle_in_transaction_timeout, absl::Seconds(2));
}

TEST(PostgresOptionsTest, APasswordFileOthersCanReadIsRefused) {
  testing::TempDir keys;
  const std::string file = keys.path() + "/db.password";
  std::ofstream(file) << "s3cret\n";
  ASSERT_EQ(::chmod(file.c_str(), 0644), 0);
  config::v1::PostgresOptions pg = Postgres("host=db").postgres();
  pg.set_password_file(file);
  auto resolved = ResolvePostgresOptions(pg, keys.path());
  ASSERT_EQ(resolved.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(resolved.status().message()),
              AllOf(HasSubstr("store.postgres.password_file"), HasSubstr("chmod 600"),
                    Not(HasSubstr("s3cret"))));
}

}  // namespace
}  // namespace hart
