// A throw-away PostgreSQL 15 server for tests: initdb into a fresh
// temporary directory, then `postgres` on 127.0.0.1 only, on a free port,
// with its unix socket inside that directory. The superuser is `hart`; every
// connection (TCP and socket) needs its password (scram-sha-256), which the
// harness generates and keeps in a mode-600 file, password_file().
//
// Root: PostgreSQL refuses to run as root, and CI runs as root. When
// geteuid() == 0 the harness chowns the temporary directory to the
// `postgres` system user that Debian's package creates (`nobody` if there
// is none) and runs initdb and postgres as that user: the forked child drops
// its groups, gid and uid before exec. (Not `runuser`: it stays as the
// postmaster's parent, so pid() and signals would reach it instead.) The
// temporary directory ($TMPDIR, else /tmp) must then be reachable by that
// user. Otherwise the server runs as the current user.
//
// A crashed test process does not leave the server behind: a small watchdog
// process, forked beside initdb and then the postmaster, stops it and
// removes the directory when the test process dies without Stop().
//
// Thread safety: Start/Stop/Restart must not run concurrently with each
// other or with use of the server; the accessors, CreateDatabase and
// DropDatabase may be called from any thread while the server runs.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/support/child_process.h"

namespace hart::testing {

class TempDir;

struct PostgresServerOptions {
  // Where initdb and postgres are (Debian's postgresql-15 package).
  std::string bin_dir = "/usr/lib/postgresql/15/bin";
  // On by default: durability tests need it. Off makes commits cheaper.
  bool fsync = true;
  int max_connections = 100;
  std::string shared_buffers = "16MB";
  // More postgresql.conf settings (name -> value, quoted by the harness);
  // they override the harness's own.
  std::map<std::string, std::string> settings;
  // Bound on the server accepting connections after each (re)start.
  absl::Duration start_timeout = absl::Seconds(30);
};

class PostgresServer {
 public:
  // Runs initdb and starts the server; returns once it accepts connections.
  // UNAVAILABLE if the binaries are missing; otherwise an error quoting the
  // tail of the initdb or server log.
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start(PostgresServerOptions options = {});

  // One server per test process, started on first use (thread-safe) and
  // stopped at exit. A failed start is remembered and returned again.
  static absl::StatusOr<PostgresServer*> Shared();

  ~PostgresServer();  // Stop()
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  const std::string& host() const { return host_; }  // "127.0.0.1"
  int port() const { return port_; }
  // The postmaster's pid; changes with Restart(); -1 when stopped.
  pid_t pid() const { return pid_; }
  const std::string& user() const { return user_; }  // "hart"
  // A file holding just the password (no newline), mode 600.
  const std::string& password_file() const { return password_file_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& log_file() const { return log_file_; }  // the server's stderr

  // libpq conninfo without the password: host, port, user, dbname,
  // sslmode=disable. Add the password from password_file().
  std::string ConnectionString(const std::string& dbname) const;
  // The same with password=..., for tests that just need to connect.
  std::string ConnectionStringWithPassword(const std::string& dbname) const;

  // Creates an empty database (from template0) named `prefix` followed by a
  // counter, e.g. "orders_3", and returns the name. `prefix`: lower-case
  // letters, digits and '_', starting with a letter, at most 40 characters.
  absl::StatusOr<std::string> CreateDatabase(const std::string& prefix);
  // DROP DATABASE ... WITH (FORCE): disconnects whoever is still connected.
  absl::Status DropDatabase(const std::string& name);
  // Ends every session connected to `database` but the harness's own, with
  // pg_terminate_backend as the superuser (what an operator, a failover
  // proxy or an OOM kill does to clients): returns how many it ended.
  absl::StatusOr<int> TerminateBackends(const std::string& database);

  // Fast shutdown (SIGINT to the postmaster), waits up to 30 s for it to
  // exit, then SIGKILLs it and its children; removes the temporary
  // directory. Idempotent. An error if the server had already died, exited
  // uncleanly or had to be killed.
  absl::Status Stop();
  // Stops the server (it may already have died or been killed: startup
  // then recovers from the WAL) and starts it again on the same port and
  // data directory. FAILED_PRECONDITION after Stop().
  absl::Status Restart();

  // The last `max_bytes` of the server log.
  std::string LogTail(size_t max_bytes = 4000) const;

 private:
  explicit PostgresServer(PostgresServerOptions options);

  absl::Status InitDb();
  // Starts the postmaster and waits: on port_ if `keep_port` (Restart),
  // else on a fresh free port for each attempt.
  absl::Status StartPostmaster(bool keep_port);
  // One try on `port`; *port_taken when postgres could not bind it.
  absl::Status StartOnce(int port, bool* port_taken);
  // Stops the postmaster and its watchdog; keeps the directory.
  absl::Status Shutdown();
  // Runs `sql` as the superuser in database "postgres"; the first value.
  absl::StatusOr<std::string> AdminSql(const std::string& sql) const;

  PostgresServerOptions options_;
  std::unique_ptr<TempDir> dir_;
  std::string host_ = "127.0.0.1";
  std::string user_ = "hart";
  std::string password_;
  std::string password_file_;
  std::string data_dir_;
  std::string socket_dir_;
  std::string log_file_;
  int port_ = 0;
  pid_t pid_ = -1;
  ServerWatchdog watchdog_;
  pid_t owner_pid_ = -1;  // a forked child never stops its parent's server
  // Set when this process is root: initdb and postgres run as that user.
  std::optional<ChildUser> run_as_;
  std::string run_user_;
  std::atomic<int> next_database_{1};
};

}  // namespace hart::testing
