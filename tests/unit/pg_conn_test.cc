// The PostgreSQL backend's connection layer against a real server: SQLSTATEs
// become the store's error codes without any value in the message, and a
// connection that breaks (pg_terminate_backend, a restart, a statement that
// hangs) is answered UNAVAILABLE and replaced, never waited on forever.
#include "broker/store/postgres/pg_conn.h"

#include "broker/common/secret_file.h"
#include "broker/store/postgres/pg_pool.h"
#include "broker/store_errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/postgres_server.h"

namespace hart::pg {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

class PgConnTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::PostgresServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    auto database = server_->CreateDatabase("conn");
    ASSERT_TRUE(database.ok()) << database.status();
    auto password = ReadSecretFile(server_->password_file());
    ASSERT_TRUE(password.ok()) << password.status();
    options_.conninfo = server_->ConnectionString(*database);
    options_.password = *password;
    options_.connect_timeout = absl::Seconds(5);
  }

  std::unique_ptr<PgConn> Connect() {
    auto conn = PgConn::Connect(options_);
    EXPECT_TRUE(conn.ok()) << conn.status();
    return conn.ok() ? std::move(*conn) : nullptr;
  }

  std::unique_ptr<testing::PostgresServer> server_;
  PgConnectOptions options_;
};

TEST_F(PgConnTest, ValuesRoundTripAsTheyWereBound) {
  auto conn = Connect();
  ASSERT_NE(conn, nullptr);
  const std::string bytes("\0\x01\xff\\x'\"", 7);
  auto row = conn->Query("SELECT $1::bigint, $2::text, $3::bytea, $4::bigint IS NULL",
                         PgParams().Int(-42).Text("héllo 'x'").Bytes(bytes).Null());
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(row->Int(0, 0), -42);
  EXPECT_EQ(row->Text(0, 1), "héllo 'x'");
  EXPECT_EQ(row->Bytes(0, 2), bytes);
  EXPECT_TRUE(row->Bool(0, 3));
}

TEST_F(PgConnTest, AUriConninfoKeepsItsTlsSettingsApart) {
  options_.conninfo = "postgresql://" + server_->user() + "@" + server_->host() + ":" +
                      std::to_string(server_->port()) + "/postgres";
  options_.keywords = {{"sslmode", "disable"}};
  auto conn = Connect();
  ASSERT_NE(conn, nullptr);
  auto ssl = conn->Query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
  ASSERT_TRUE(ssl.ok()) << ssl.status();
  EXPECT_FALSE(ssl->Bool(0, 0));
}

TEST_F(PgConnTest, AUniqueViolationIsAlreadyExistsAndNamesNoValue) {
  auto conn = Connect();
  ASSERT_NE(conn, nullptr);
  ASSERT_TRUE(conn->Exec("CREATE TABLE cases (careline_id TEXT PRIMARY KEY)").ok());
  const std::string sql = "INSERT INTO cases (careline_id) VALUES ($1)";
  ASSERT_TRUE(conn->Query(sql, PgParams().Text("CL-2026-000123")).ok());
  auto again = conn->Query(sql, PgParams().Text("CL-2026-000123"));
  ASSERT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(BackendOf(again.status()), "postgres");
  EXPECT_THAT(std::string(again.status().message()),
              AllOf(HasSubstr("23505"), HasSubstr("cases"), Not(HasSubstr("CL-2026"))));
  // A NOT NULL violation is the broker's bug, not a collision.
  auto null = conn->Query(sql, PgParams().Null());
  EXPECT_EQ(null.status().code(), absl::StatusCode::kInternal);
}

TEST_F(PgConnTest, AStatementPastItsTimeoutIsUnavailable) {
  options_.statement_timeout = absl::Milliseconds(200);
  auto conn = Connect();
  ASSERT_NE(conn, nullptr);
  auto slept = conn->Query("SELECT pg_sleep(30)");
  EXPECT_EQ(slept.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(slept.status().message()), HasSubstr("57014"));
  // The connection stays usable.
  EXPECT_TRUE(conn->Query("SELECT 1").ok());
}

TEST_F(PgConnTest, ATerminatedConnectionIsUnavailableAndThePoolReplacesIt) {
  auto pool = PgPool::Open(options_, 2, absl::Seconds(5));
  ASSERT_TRUE(pool.ok()) << pool.status();
  int backend_pid = 0;
  {
    auto lease = (*pool)->Acquire();
    ASSERT_TRUE(lease.ok()) << lease.status();
    auto pid = lease->conn().Query("SELECT pg_backend_pid()");
    ASSERT_TRUE(pid.ok()) << pid.status();
    backend_pid = static_cast<int>(pid->Int(0, 0));
    auto killer = Connect();
    ASSERT_NE(killer, nullptr);
    ASSERT_TRUE(killer->Query("SELECT pg_terminate_backend($1::int)",
                              PgParams().Int(backend_pid)).ok());
    auto after = lease->conn().Query("SELECT 1");
    EXPECT_EQ(after.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_TRUE(lease->conn().broken());
  }
  auto lease = (*pool)->Acquire();
  ASSERT_TRUE(lease.ok()) << lease.status();
  auto pid = lease->conn().Query("SELECT pg_backend_pid()");
  ASSERT_TRUE(pid.ok()) << pid.status();
  EXPECT_NE(pid->Int(0, 0), backend_pid);
}

TEST_F(PgConnTest, WhileTheServerIsDownCallsAreUnavailableAndAfterARestartTheyWork) {
  auto pool = PgPool::Open(options_, 1, absl::Seconds(2));
  ASSERT_TRUE(pool.ok()) << pool.status();
  {
    // Held across the restart: its statement fails UNAVAILABLE.
    auto lease = (*pool)->Acquire();
    ASSERT_TRUE(lease.ok()) << lease.status();
    ASSERT_TRUE(server_->Restart().ok());
    EXPECT_EQ(lease->conn().Query("SELECT 1").status().code(), absl::StatusCode::kUnavailable);
  }
  // Dropped on return; the next caller gets a new connection that works.
  auto lease = (*pool)->Acquire();
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_TRUE(lease->conn().Query("SELECT 1").ok());
}

TEST_F(PgConnTest, AnIdleConnectionTheServerClosedIsReplacedBeforeItIsHandedOut) {
  auto pool = PgPool::Open(options_, 1, absl::Seconds(2));
  ASSERT_TRUE(pool.ok()) << pool.status();
  ASSERT_TRUE(server_->Restart().ok());
  // The pooled connection died with the old server while idle: the caller
  // never sees it.
  auto lease = (*pool)->Acquire();
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_TRUE(lease->conn().Query("SELECT 1").ok());
}

TEST_F(PgConnTest, AWrongPasswordIsUnavailableWithLibpqsReasonAndNoPassword) {
  options_.password = "not-the-password";
  auto conn = PgConn::Connect(options_);
  ASSERT_EQ(conn.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(conn.status().message()),
              AllOf(HasSubstr("password authentication failed"), Not(HasSubstr("not-the-password"))));
}

TEST_F(PgConnTest, ABusyPoolAnswersUnavailableWithinItsBound) {
  auto pool = PgPool::Open(options_, 1, absl::Milliseconds(100));
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto held = (*pool)->Acquire();
  ASSERT_TRUE(held.ok());
  auto second = (*pool)->Acquire();
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("pool_size"));
}

}  // namespace
}  // namespace hart::pg
