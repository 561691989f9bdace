// The PostgreSQL test server harness: a real PostgreSQL 15 on 127.0.0.1
// only, password-only access, fresh databases per test, restart with data
// kept (also after the postmaster is killed), stop, not run as root, and
// cleaned up when the test process dies.
#include "tests/support/postgres_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libpq-fe.h"
#include "tests/support/test_support.h"

namespace hart::testing {
namespace {

using ::testing::HasSubstr;

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using Conn = std::unique_ptr<PGconn, ConnCloser>;

Conn Connect(const std::string& conninfo) {
  return Conn(PQconnectdb((conninfo + " connect_timeout=10").c_str()));
}

// The first value of `sql`'s result; the error text prefixed "ERROR: ".
std::string Query(PGconn* conn, const std::string& sql) {
  PGresult* res = PQexec(conn, sql.c_str());
  std::string out;
  const ExecStatusType status = PQresultStatus(res);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    out = absl::StrCat("ERROR: ", PQresultErrorMessage(res));
  } else if (PQntuples(res) > 0 && PQnfields(res) > 0) {
    out = PQgetvalue(res, 0, 0);
  }
  PQclear(res);
  return out;
}

// The process's shared server; nullptr (and a failure) if it did not start.
PostgresServer* Shared() {
  auto server = PostgresServer::Shared();
  if (!server.ok()) ADD_FAILURE() << server.status();
  return server.ok() ? *server : nullptr;
}

// A process that is gone: no /proc entry, or a zombie nobody reaped.
bool ProcessGone(pid_t pid) {
  const std::string stat = ReadText(absl::StrCat("/proc/", pid, "/stat"));
  const size_t close_paren = stat.rfind(')');
  return close_paren == std::string::npos || stat.substr(close_paren + 2, 1) == "Z";
}

TEST(PostgresServerTest, PasswordFromTheFileIsNeededOverTcp) {
  PostgresServer* shared = Shared();
  ASSERT_NE(shared, nullptr);
  PostgresServer& server = *shared;
  EXPECT_EQ(PostgresServer::Shared().value(), &server);
  EXPECT_EQ(server.host(), "127.0.0.1");
  struct stat st {};
  ASSERT_EQ(stat(server.password_file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string password = ReadText(server.password_file());
  ASSERT_GE(password.size(), 16u);

  const std::string conninfo = server.ConnectionString("postgres");
  EXPECT_THAT(conninfo, ::testing::Not(HasSubstr("password")));
  Conn with = Connect(conninfo + " password=" + password);
  ASSERT_EQ(PQstatus(with.get()), CONNECTION_OK) << PQerrorMessage(with.get());
  EXPECT_EQ(Query(with.get(), "SELECT current_user"), "hart");
  Conn helper = Connect(server.ConnectionStringWithPassword("postgres"));
  EXPECT_EQ(PQstatus(helper.get()), CONNECTION_OK) << PQerrorMessage(helper.get());

  Conn without = Connect(conninfo);
  EXPECT_EQ(PQstatus(without.get()), CONNECTION_BAD);
  Conn wrong = Connect(conninfo + " password=not-the-password");
  EXPECT_EQ(PQstatus(wrong.get()), CONNECTION_BAD);
  EXPECT_THAT(PQerrorMessage(wrong.get()), HasSubstr("password authentication failed"));
}

TEST(PostgresServerTest, IsPostgres15) {
  PostgresServer* server = Shared();
  ASSERT_NE(server, nullptr);
  Conn conn = Connect(server->ConnectionStringWithPassword("postgres"));
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  EXPECT_THAT(Query(conn.get(), "SELECT version()"), ::testing::StartsWith("PostgreSQL 15."));
  EXPECT_EQ(Query(conn.get(), "SHOW server_encoding"), "UTF8");
  EXPECT_EQ(Query(conn.get(), "SHOW fsync"), "on");
  EXPECT_EQ(Query(conn.get(), "SHOW max_connections"), "100");
}

TEST(PostgresServerTest, CreatesDistinctEmptyDatabases) {
  PostgresServer* shared = Shared();
  ASSERT_NE(shared, nullptr);
  PostgresServer& server = *shared;
  auto first = server.CreateDatabase("harness");
  auto second = server.CreateDatabase("harness");
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE(*first, *second);
  Conn a = Connect(server.ConnectionStringWithPassword(*first));
  Conn b = Connect(server.ConnectionStringWithPassword(*second));
  ASSERT_EQ(PQstatus(a.get()), CONNECTION_OK) << PQerrorMessage(a.get());
  ASSERT_EQ(PQstatus(b.get()), CONNECTION_OK) << PQerrorMessage(b.get());
  const std::string user_tables =
      "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')";
  EXPECT_EQ(Query(a.get(), user_tables), "0");
  EXPECT_EQ(Query(b.get(), user_tables), "0");
  EXPECT_EQ(Query(a.get(), "CREATE TABLE only_in_a (x int)"), "");
  EXPECT_EQ(Query(a.get(), user_tables), "1");
  EXPECT_EQ(Query(b.get(), user_tables), "0");

  a.reset();  // b stays connected: WITH (FORCE) disconnects it
  EXPECT_TRUE(server.DropDatabase(*first).ok());
  EXPECT_TRUE(server.DropDatabase(*second).ok());
  Conn gone = Connect(server.ConnectionStringWithPassword(*first));
  EXPECT_THAT(PQerrorMessage(gone.get()), HasSubstr("does not exist"));

  EXPECT_EQ(server.CreateDatabase("Bad-Name").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server.DropDatabase("x; DROP DATABASE postgres").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PostgresServerTest, ListensOnLoopbackOnly) {
  PostgresServer* shared = Shared();
  ASSERT_NE(shared, nullptr);
  PostgresServer& server = *shared;
  Conn conn = Connect(server.ConnectionStringWithPassword("postgres"));
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  EXPECT_EQ(Query(conn.get(), "SHOW listen_addresses"), "127.0.0.1");
  // Every listening socket on the port, IPv4 and IPv6: local address
  // "0100007F:<port hex>" is 127.0.0.1; state 0A is LISTEN.
  const std::string port_hex =
      absl::AsciiStrToUpper(absl::StrCat(absl::Hex(server.port(), absl::kZeroPad4)));
  std::vector<std::string> listening;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    for (absl::string_view line : absl::StrSplit(ReadText(table), '\n', absl::SkipEmpty())) {
      std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (f.size() > 3 && f[3] == "0A" && absl::EndsWith(f[1], ":" + port_hex)) {
        listening.emplace_back(f[1]);
      }
    }
  }
  EXPECT_THAT(listening, ::testing::ElementsAre("0100007F:" + port_hex));
}

TEST(PostgresServerTest, ServerDoesNotRunAsRoot) {
  PostgresServer* shared = Shared();
  ASSERT_NE(shared, nullptr);
  PostgresServer& server = *shared;
  ASSERT_GT(server.pid(), 0);
  const std::string status = ReadText(absl::StrCat("/proc/", server.pid(), "/status"));
  std::vector<uid_t> uids;  // real, effective, saved, filesystem
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    if (!absl::ConsumePrefix(&line, "Uid:")) continue;
    for (absl::string_view field : absl::StrSplit(line, '\t', absl::SkipEmpty())) {
      uid_t uid = 0;
      ASSERT_TRUE(absl::SimpleAtoi(field, &uid)) << line;
      uids.push_back(uid);
    }
  }
  ASSERT_EQ(uids.size(), 4u) << status;
  for (uid_t uid : uids) {
    if (geteuid() == 0) {
      EXPECT_NE(uid, 0u) << "PostgreSQL runs as root";
    } else {
      EXPECT_EQ(uid, geteuid());
    }
  }
}

TEST(PostgresServerTest, RestartKeepsDataAndSurvivesAKilledPostmaster) {
  auto server = PostgresServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  PostgresServer& pg = **server;
  auto db = pg.CreateDatabase("restart");
  ASSERT_TRUE(db.ok()) << db.status();
  const std::string conninfo = pg.ConnectionStringWithPassword(*db);
  {
    Conn conn = Connect(conninfo);
    ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
    EXPECT_EQ(Query(conn.get(), "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('one')"), "");
  }
  const int port = pg.port();
  const pid_t before = pg.pid();
  ASSERT_TRUE(pg.Restart().ok());
  EXPECT_EQ(pg.port(), port);
  EXPECT_NE(pg.pid(), before);
  {
    Conn conn = Connect(conninfo);
    ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
    EXPECT_EQ(Query(conn.get(), "SELECT string_agg(v, ',') FROM kept"), "one");
    EXPECT_EQ(Query(conn.get(), "INSERT INTO kept VALUES ('two')"), "");
  }

  // A crash: the postmaster dies at once while a session is open; the
  // restart must wait out that orphaned backend and recover from the WAL.
  Conn open = Connect(conninfo);
  ASSERT_EQ(PQstatus(open.get()), CONNECTION_OK) << PQerrorMessage(open.get());
  ASSERT_EQ(kill(pg.pid(), SIGKILL), 0);
  auto restarted = pg.Restart();
  ASSERT_TRUE(restarted.ok()) << restarted;
  Conn conn = Connect(conninfo);
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  EXPECT_EQ(Query(conn.get(), "SELECT string_agg(v, ',' ORDER BY v) FROM kept"), "one,two");

  // Someone takes the port while the server is down: Restart says so.
  conn.reset();
  ASSERT_EQ(kill(pg.pid(), SIGKILL), 0);
  const int blocker = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(blocker, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  // Bounded: the killed postmaster's socket closes as it exits.
  ASSERT_TRUE(WaitFor(
      [&] { return bind(blocker, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0; }))
      << strerror(errno);
  ASSERT_EQ(listen(blocker, 1), 0);
  const absl::Status blocked = pg.Restart();
  EXPECT_EQ(blocked.code(), absl::StatusCode::kUnavailable) << blocked;
  EXPECT_THAT(blocked.message(), HasSubstr("Address already in use"));
  close(blocker);
  const absl::Status freed = pg.Restart();
  ASSERT_TRUE(freed.ok()) << freed;
  Conn again = Connect(conninfo);
  EXPECT_EQ(Query(again.get(), "SELECT count(*) FROM kept"), "2");
}

TEST(PostgresServerTest, StopMakesConnectionsFailAndRemovesTheDirectory) {
  PostgresServerOptions options;
  options.fsync = false;
  options.max_connections = 20;
  options.settings["application_name"] = "from 'settings'";
  auto server = PostgresServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  PostgresServer& pg = **server;
  const std::string conninfo = pg.ConnectionStringWithPassword("postgres");
  Conn conn = Connect(conninfo);
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  EXPECT_EQ(Query(conn.get(), "SHOW fsync"), "off");
  EXPECT_EQ(Query(conn.get(), "SHOW max_connections"), "20");
  EXPECT_EQ(Query(conn.get(), "SHOW application_name"), "from 'settings'");

  const std::string data_dir = pg.data_dir();
  const pid_t pid = pg.pid();
  const absl::Status stopped = pg.Stop();
  EXPECT_TRUE(stopped.ok()) << stopped;
  EXPECT_EQ(pg.pid(), -1);
  EXPECT_TRUE(ProcessGone(pid));
  EXPECT_FALSE(std::filesystem::exists(data_dir));
  EXPECT_THAT(Query(conn.get(), "SELECT 1"), HasSubstr("ERROR"));  // the session was ended
  Conn after = Connect(conninfo);
  EXPECT_EQ(PQstatus(after.get()), CONNECTION_BAD);

  EXPECT_TRUE(pg.Stop().ok());
  EXPECT_EQ(pg.Restart().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(pg.CreateDatabase("late").status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(PostgresServerTest, MissingBinariesAreUnavailable) {
  PostgresServerOptions options;
  options.bin_dir = "/nonexistent/postgresql/15/bin";
  auto server = PostgresServer::Start(options);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(server.status().message(), HasSubstr("deploy/install-deps.sh"));
}

TEST(PostgresServerTest, WatchdogStopsTheServerWhenTheTestProcessDies) {
  TempDir dir;
  const std::string record = dir.path() + "/server";
  // The child starts a server and dies without stopping it.
  EXPECT_EXIT(
      {
        auto server = PostgresServer::Start();
        if (!server.ok()) _exit(1);
        std::ofstream(record) << (*server)->pid() << " " << (*server)->data_dir();
        _exit(0);
      },
      ::testing::ExitedWithCode(0), "");
  std::istringstream in(ReadText(record));
  pid_t pid = -1;
  std::string data_dir;
  ASSERT_TRUE(in >> pid >> data_dir) << "the child did not start a server";
  EXPECT_TRUE(WaitFor([&] { return ProcessGone(pid) && !std::filesystem::exists(data_dir); },
                      std::chrono::seconds(60)))
      << "PostgreSQL (pid " << pid << ") or " << data_dir << " outlived the test process";
}

}  // namespace
}  // namespace hart::testing
