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
#include "tests/support/pg_fresh_database.h"
#include "tests/support/postgres_server.h"
#include "tests/support/test_support.h"

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

// A transaction left idle past idle_in_transaction_session_timeout: the
// server rolls it back and ends the session. Like any ended session that is
// a transient failure, not a bug of the broker's, and the connection is not
// used again. (libpq 15 gives the next statement no SQLSTATE here; where a
// result carries the server's 25P03, the mapping below says the same.)
TEST(SqlStateTest, ASessionEndedByATimeoutIsUnavailableOtherTransactionStatesAreBugs) {
  EXPECT_EQ(StatusCodeForSqlState("25P03"), absl::StatusCode::kUnavailable);
  EXPECT_EQ(StatusCodeForSqlState("25P04"), absl::StatusCode::kUnavailable);
  EXPECT_EQ(StatusCodeForSqlState("25006"), absl::StatusCode::kUnavailable);
  EXPECT_EQ(StatusCodeForSqlState("25P02"), absl::StatusCode::kInternal);
}

TEST_F(PgConnTest, ATransactionTheServerEndedForIdlingIsUnavailable) {
  options_.idle_in_transaction_timeout = absl::Milliseconds(100);
  auto conn = Connect();
  ASSERT_NE(conn, nullptr);
  auto pid = conn->Query("SELECT pg_backend_pid()");
  ASSERT_TRUE(pid.ok()) << pid.status();
  ASSERT_TRUE(conn->Exec("BEGIN").ok());
  // Until the server has ended the session (seen from another one).
  auto watcher = Connect();
  ASSERT_NE(watcher, nullptr);
  const int64_t backend = pid->Int(0, 0);
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto rows = watcher->Query("SELECT 1 FROM pg_stat_activity WHERE pid = $1::int",
                                   PgParams().Int(backend));
        return rows.ok() && rows->rows() == 0;
      },
      std::chrono::seconds(30)))
      << "the server did not end the idle transaction's session";
  auto after = conn->Query("SELECT 1");
  EXPECT_EQ(after.status().code(), absl::StatusCode::kUnavailable) << after.status();
  EXPECT_TRUE(conn->broken());
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


// Deferred writes (pipeline mode): they run, in order, with the next
// statement that needs an answer, and their first error is its error.
// One shared server and a database per test: nothing here restarts it.
class PgPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto options = testing::FreshDatabaseOptions("pipeline");
    ASSERT_TRUE(options.ok()) << options.status();
    options_ = *options;
    conn_ = Connect();
    ASSERT_NE(conn_, nullptr);
    ASSERT_TRUE(conn_->Exec("CREATE TABLE IF NOT EXISTS items (id BIGINT PRIMARY KEY)").ok());
  }
  int64_t Count() {
    auto n = conn_->Query("SELECT COUNT(*) FROM items");
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? n->Int(0, 0) : -1;
  }
  std::unique_ptr<PgConn> Connect() {
    auto conn = PgConn::Connect(options_);
    EXPECT_TRUE(conn.ok()) << conn.status();
    return conn.ok() ? std::move(*conn) : nullptr;
  }
  static constexpr char kInsert[] = "INSERT INTO items (id) VALUES ($1)";
  PgConnectOptions options_;
  std::unique_ptr<PgConn> conn_;
};

TEST_F(PgPipelineTest, AnArrayParameterTakesItsTypeFromTheStatementAndRoundTrips) {
  ArrayParam ids;
  ids.Add("plain");
  ids.Add("with \"quote\", comma and \\");
  constexpr char kSql[] = "SELECT cardinality($1::text[]), ($1::text[])[2]";
  auto row = conn_->Query(kSql, PgParams().Array(ids.Literal()));
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(row->Int(0, 0), 2);
  EXPECT_EQ(row->Text(0, 1), "with \"quote\", comma and \\");
  // Typed text[], not text cast per evaluation.
  auto types = conn_->Query("SELECT parameter_types::text FROM pg_prepared_statements "
                            "WHERE statement = $1", PgParams().Text(kSql));
  ASSERT_TRUE(types.ok()) << types.status();
  ASSERT_EQ(types->rows(), 1);
  EXPECT_EQ(types->Text(0, 0), "{text[]}");
}

// Why key-list lookups are planned each run (kPlanEachRun): the cached
// statement's generic plan, chosen while the table held three rows, still
// scans it whole once it holds twenty thousand. The rows are wide, as a
// delivery's are (a narrow table's generic plan reads the index anyway).
TEST_F(PgPipelineTest, AKeyListLookupPlannedEachRunReadsByTheIndexAfterItsTableGrew) {
  ASSERT_TRUE(conn_->Exec("CREATE TABLE keyed (id TEXT PRIMARY KEY, pad CHAR(500) NOT NULL);"
                          "INSERT INTO keyed SELECT 'k' || g, 'x' FROM generate_series(0, 2) g")
                  .ok());
  ArrayParam keys;
  for (int i = 0; i < 10; ++i) keys.Add("k" + std::to_string(i * 7));
  constexpr char kLookup[] = "SELECT id FROM keyed WHERE id = ANY ($1::text[])";
  for (int run = 0; run < 10; ++run) {
    ASSERT_TRUE(conn_->Query(kLookup, PgParams().Array(keys.Literal()), kPlanEachRun).ok());
    ASSERT_TRUE(conn_->Query(kLookup, PgParams().Array(keys.Literal())).ok());
  }
  ASSERT_TRUE(conn_->Exec("INSERT INTO keyed SELECT 'k' || g, repeat('x', 200) "
                          "FROM generate_series(3, 20002) g")
                  .ok());
  // The scans of the table the lookup adds, as this session counts them
  // (not flushed inside a transaction, so before and after differ by it).
  auto scans = [&](bool prepare) -> std::pair<int64_t, int64_t> {
    auto counters = [&]() -> std::pair<int64_t, int64_t> {
      auto counted = conn_->Query("SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables "
                                  "WHERE relname = 'keyed'");
      EXPECT_TRUE(counted.ok() && counted->rows() == 1);
      if (!counted.ok() || counted->rows() != 1) return {-1000, -1000};
      return {counted->Int(0, 0), counted->Int(0, 1)};
    };
    EXPECT_TRUE(conn_->Exec("BEGIN").ok());
    const auto before = counters();
    auto found = conn_->Query(kLookup, PgParams().Array(keys.Literal()), prepare);
    EXPECT_TRUE(found.ok()) << found.status();
    EXPECT_EQ(found.ok() ? found->rows() : -1, 10);
    const auto after = counters();
    EXPECT_TRUE(conn_->Exec("COMMIT").ok());
    return {after.first - before.first, after.second - before.second};
  };
  const auto [each_run_seq, each_run_idx] = scans(kPlanEachRun);
  EXPECT_EQ(each_run_seq, 0);
  EXPECT_GE(each_run_idx, 1);
  const auto [cached_seq, cached_idx] = scans(/*prepare=*/true);
  EXPECT_EQ(cached_seq, 1) << "the cached plan no longer scans: kPlanEachRun may be unneeded";
  EXPECT_EQ(cached_idx, 0);
}

TEST_F(PgPipelineTest, DeferredWritesRunBeforeTheNextQueryWhichSeesThem) {
  ASSERT_TRUE(conn_->Defer("BEGIN", {}, /*prepare=*/false).ok());
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(conn_->Defer(kInsert, PgParams().Int(i)).ok());
  EXPECT_TRUE(conn_->in_transaction());  // deferred: not to be handed out again
  auto seen = conn_->Query("SELECT COUNT(*), MAX(id) FROM items");
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(seen->Int(0, 0), 3);
  EXPECT_EQ(seen->Int(0, 1), 3);
  ASSERT_TRUE(conn_->Defer("COMMIT", {}, false).ok());
  ASSERT_TRUE(conn_->Flush().ok());
  EXPECT_FALSE(conn_->in_transaction());
  EXPECT_EQ(Count(), 3);
}

TEST_F(PgPipelineTest, DeferredQueriesAnswerInOneRoundTripEachAfterTheStatementsBeforeIt) {
  PgResult before(nullptr), after(nullptr);
  ASSERT_TRUE(conn_->Defer("BEGIN", {}, /*prepare=*/false).ok());
  ASSERT_TRUE(conn_->Defer(kInsert, PgParams().Int(1)).ok());
  ASSERT_TRUE(conn_->DeferQuery("SELECT COUNT(*) FROM items", {}, &before).ok());
  ASSERT_TRUE(conn_->Defer(kInsert, PgParams().Int(2)).ok());
  ASSERT_TRUE(conn_->DeferQuery("SELECT MAX(id) FROM items WHERE id > $1", PgParams().Int(0),
                                &after).ok());
  EXPECT_EQ(before.raw(), nullptr);  // nothing sent yet
  ASSERT_TRUE(conn_->Defer("COMMIT", {}, false).ok());
  ASSERT_TRUE(conn_->Flush().ok());
  ASSERT_EQ(before.rows(), 1);
  EXPECT_EQ(before.Int(0, 0), 1);
  ASSERT_EQ(after.rows(), 1);
  EXPECT_EQ(after.Int(0, 0), 2);
  EXPECT_EQ(Count(), 2);
}

TEST_F(PgPipelineTest, ADeferredErrorIsTheNextStatementsAndNothingAfterItRuns) {
  ASSERT_TRUE(conn_->Exec("INSERT INTO items (id) VALUES (7)").ok());
  ASSERT_TRUE(conn_->Defer("BEGIN", {}, false).ok());
  ASSERT_TRUE(conn_->Defer(kInsert, PgParams().Int(8)).ok());
  ASSERT_TRUE(conn_->Defer(kInsert, PgParams().Int(7)).ok());  // a collision
  ASSERT_TRUE(conn_->Defer(kInsert, PgParams().Int(9)).ok());
  auto after = conn_->Query("SELECT 1");
  EXPECT_EQ(after.status().code(), absl::StatusCode::kAlreadyExists) << after.status();
  EXPECT_FALSE(conn_->broken());  // every result was read: usable after the rollback
  ASSERT_TRUE(conn_->Exec("ROLLBACK").ok());
  EXPECT_EQ(Count(), 1);
}

TEST_F(PgPipelineTest, DiscardedWritesAreNeverSent) {
  ASSERT_TRUE(conn_->Defer("BEGIN", {}, false).ok());
  ASSERT_TRUE(conn_->Defer(kInsert, PgParams().Int(1)).ok());
  conn_->DiscardDeferred();
  EXPECT_FALSE(conn_->in_transaction());
  EXPECT_EQ(Count(), 0);
}

TEST_F(PgPipelineTest, ALongPipelineRunsInSlicesAndCommitsEverything) {
  // More statements than one slice, with 1 KiB each: the way a large group
  // commit goes out without both sides blocking on full sockets.
  ASSERT_TRUE(conn_->Exec("CREATE TABLE blobs (id BIGINT PRIMARY KEY, b BYTEA)").ok());
  ASSERT_TRUE(conn_->Defer("BEGIN", {}, false).ok());
  constexpr int kRows = 2000;
  for (int i = 0; i < kRows; ++i) {
    ASSERT_TRUE(conn_->Defer("INSERT INTO blobs (id, b) VALUES ($1, $2)",
                             PgParams().Int(i).Bytes(std::string(1024, 'x'))).ok());
  }
  ASSERT_TRUE(conn_->Defer("COMMIT", {}, false).ok());
  ASSERT_TRUE(conn_->Flush().ok());
  auto n = conn_->Query("SELECT COUNT(*), SUM(length(b)) FROM blobs");
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->Int(0, 0), kRows);
  EXPECT_EQ(n->Int(0, 1), int64_t{kRows} * 1024);
}

TEST(PipelineSliceEndsTest, ASliceNeverOutgrowsOneFlushUnlessOneStatementDoes) {
  EXPECT_TRUE(PipelineSliceEnds({}, 256, 1000).empty());
  EXPECT_THAT(PipelineSliceEnds({10, 10, 10}, 256, 1000), ::testing::ElementsAre(3));
  // By bytes: 400 + 400 fit, a third would pass 1000.
  EXPECT_THAT(PipelineSliceEnds({400, 400, 400, 400}, 256, 1000),
              ::testing::ElementsAre(2, 4));
  // One statement larger than the bound goes alone, and nothing is dropped.
  EXPECT_THAT(PipelineSliceEnds({10, 5000, 10}, 256, 1000), ::testing::ElementsAre(1, 2, 3));
  // By count.
  EXPECT_THAT(PipelineSliceEnds(std::vector<size_t>(5, 1), 2, 1000),
              ::testing::ElementsAre(2, 4, 5));
  // The shipped bounds: 1 KiB statements, 32 to a slice.
  const std::vector<size_t> ends =
      PipelineSliceEnds(std::vector<size_t>(100, 1024), kSliceStatements, kSliceBytes);
  EXPECT_THAT(ends, ::testing::ElementsAre(32, 64, 96, 100));
}

TEST_F(PgPipelineTest, AConnectionKilledMidPipelineIsUnavailableAndNeverReused) {
  auto killer = Connect();
  ASSERT_NE(killer, nullptr);
  ASSERT_TRUE(conn_->Query(kInsert, PgParams().Int(100)).ok());  // prepared: Defer sends nothing
  auto pid = conn_->Query("SELECT pg_backend_pid()");
  ASSERT_TRUE(pid.ok());
  ASSERT_TRUE(killer->Query("SELECT pg_terminate_backend($1::int)",
                            PgParams().Int(pid->Int(0, 0))).ok());
  ASSERT_TRUE(conn_->Defer(kInsert, PgParams().Int(1)).ok());
  auto after = conn_->Query("SELECT 1");
  EXPECT_EQ(after.status().code(), absl::StatusCode::kUnavailable) << after.status();
  EXPECT_TRUE(conn_->broken());
}

}  // namespace
}  // namespace hart::pg
