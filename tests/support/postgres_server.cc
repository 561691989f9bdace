#include "tests/support/postgres_server.h"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libpq-fe.h"
#include "tests/support/test_support.h"

namespace hart::testing {
namespace {

constexpr auto kStopBound = std::chrono::seconds(30);
constexpr auto kInitDbBound = std::chrono::seconds(120);
constexpr int kStartAttempts = 5;

std::string Errno(const std::string& what) {
  return absl::StrCat(what, ": ", std::strerror(errno));
}

std::string RandomPassword() {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device device;
  std::uniform_int_distribution<size_t> pick(0, sizeof kChars - 2);
  std::string out(32, '\0');
  for (char& c : out) c = kChars[pick(device)];
  return out;
}

// A conninfo value, quoted when it holds anything but plain characters.
std::string ConninfoValue(const std::string& v) {
  if (!v.empty() && v.find_first_of(" '\\=") == std::string::npos) return v;
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string ConfValue(const std::string& v) {
  std::string out = "'";
  for (char c : v) out += (c == '\'') ? std::string("''") : std::string(1, c);
  return out + "'";
}

// Database names the harness makes and drops: safe unquoted in SQL.
bool PlainIdentifier(const std::string& name, size_t max_size) {
  if (name.empty() || name.size() > max_size || !absl::ascii_islower(name[0])) return false;
  for (char c : name) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_') return false;
  }
  return true;
}

// postmaster.pid lines (see pidfile.h): 1 pid, 7 "shm key  shm id", 8 status.
std::vector<std::string> PidFileLines(const std::string& data_dir) {
  return absl::StrSplit(ReadText(data_dir + "/postmaster.pid"), '\n');
}

bool PostmasterReady(const std::string& data_dir, pid_t pid) {
  const auto lines = PidFileLines(data_dir);
  int file_pid = 0;
  return lines.size() >= 8 && absl::SimpleAtoi(lines[0], &file_pid) && file_pid == pid &&
         absl::StripAsciiWhitespace(lines[7]) == "ready";
}

// After a crash or kill, backends of the old postmaster may still hold its
// shared memory for a moment; a new postmaster refuses to start until they
// have gone.
void WaitForOldBackends(const std::string& data_dir) {
  const auto lines = PidFileLines(data_dir);
  if (lines.size() < 7) return;
  std::vector<std::string> ids = absl::StrSplit(lines[6], ' ', absl::SkipEmpty());
  int shmid = 0;
  if (ids.size() != 2 || !absl::SimpleAtoi(ids[1], &shmid)) return;
  WaitFor(
      [&] {
        shmid_ds info{};
        return shmctl(shmid, IPC_STAT, &info) != 0 || info.shm_nattch == 0;
      },
      kStopBound);
}

}  // namespace

PostgresServer::PostgresServer(PostgresServerOptions options) : options_(std::move(options)) {}

PostgresServer::~PostgresServer() {
  // A forked child (e.g. a death test) that exits must not stop or delete
  // its parent's server.
  if (owner_pid_ != getpid()) {
    (void)dir_.release();
    return;
  }
  (void)Stop();
}

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start(
    PostgresServerOptions options) {
  for (const char* program : {"initdb", "postgres"}) {
    const std::string path = options.bin_dir + "/" + program;
    if (access(path.c_str(), X_OK) != 0) {
      return absl::UnavailableError(
          absl::StrCat("PostgreSQL 15 is not installed: no ", path,
                       "; run deploy/install-deps.sh (it installs the postgresql package)"));
    }
  }
  std::unique_ptr<PostgresServer> server(new PostgresServer(std::move(options)));
  server->owner_pid_ = getpid();
  if (geteuid() == 0) {
    // PostgreSQL refuses to run as root.
    passwd entry{};
    passwd* found = nullptr;
    std::vector<char> buffer(16384);
    for (const char* name : {"postgres", "nobody"}) {
      if (getpwnam_r(name, &entry, buffer.data(), buffer.size(), &found) == 0 && found) break;
    }
    if (found == nullptr) {
      return absl::FailedPreconditionError(
          "running as root, and neither a postgres nor a nobody user exists to run "
          "PostgreSQL as (it refuses root); run deploy/install-deps.sh");
    }
    server->run_as_ = ChildUser{found->pw_uid, found->pw_gid};
    server->run_user_ = found->pw_name;
  }
  server->dir_ = std::make_unique<TempDir>();
  const std::string& dir = server->dir_->path();
  server->data_dir_ = dir + "/data";
  server->socket_dir_ = dir + "/sock";
  server->log_file_ = dir + "/server.log";
  server->password_file_ = dir + "/password";
  server->password_ = RandomPassword();
  if (mkdir(server->socket_dir_.c_str(), 0700) != 0) {
    return absl::InternalError(Errno("creating " + server->socket_dir_));
  }
  const int fd =
      open(server->password_file_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return absl::InternalError(Errno("creating " + server->password_file_));
  const auto written = write(fd, server->password_.data(), server->password_.size());
  close(fd);
  if (written != static_cast<ssize_t>(server->password_.size())) {
    return absl::InternalError("writing the password file " + server->password_file_ + " failed");
  }
  if (server->run_as_) {
    for (const std::string& path : {dir, server->socket_dir_, server->password_file_}) {
      if (chown(path.c_str(), server->run_as_->uid, server->run_as_->gid) != 0) {
        return absl::InternalError(Errno("chown " + path + " to the PostgreSQL user"));
      }
    }
  }
  if (auto s = server->InitDb(); !s.ok()) return s;
  if (auto s = server->StartPostmaster(/*keep_port=*/false); !s.ok()) return s;
  return server;
}

absl::StatusOr<PostgresServer*> PostgresServer::Shared() {
  // Function-local static: started once, thread-safe; destroyed (stopped)
  // at exit.
  static absl::StatusOr<std::unique_ptr<PostgresServer>> shared = Start();
  if (!shared.ok()) return shared.status();
  return shared->get();
}

absl::Status PostgresServer::InitDb() {
  const std::string log = dir_->path() + "/initdb.log";
  ChildSpec spec;
  // --no-sync: nothing need survive a power cut before the first checkpoint.
  spec.argv = {options_.bin_dir + "/initdb", "-D", data_dir_, "-U", user_,
               "--pwfile=" + password_file_, "--auth=scram-sha-256", "-E", "UTF8",
               "--locale=C", "--no-sync", "--no-instructions"};
  spec.cwd = dir_->path();
  spec.output_file = log;
  spec.run_as = run_as_;
  auto pid = SpawnChild(spec);
  if (!pid.ok()) return pid.status();
  // Also during initdb: a test that dies then would leave 40 MB behind.
  absl::Status watched = watchdog_.Start(*pid, dir_->path(), log);
  int status = 0;
  const bool finished = watched.ok() && WaitForChildExit(*pid, kInitDbBound, &status);
  watchdog_.Stop();
  if (!watched.ok()) {
    KillAndReap(*pid);
    return watched;
  }
  if (!finished) {
    KillAndReap(*pid);
    return absl::DeadlineExceededError(
        absl::StrCat("initdb did not finish within 120 s; its log:\n", FileTail(log, 4000)));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    const std::string hint =
        run_as_ ? absl::StrCat(" (it ran as user ", run_user_, " because this process is root; ",
                               run_user_, " must be able to reach ", dir_->path(),
                               ": point TMPDIR at a directory it can, e.g. /tmp)")
                : "";
    return absl::FailedPreconditionError(absl::StrCat("initdb failed (", DescribeExit(status), ")",
                                                      hint, "; its log:\n", FileTail(log, 4000)));
  }
  std::string conf = absl::StrCat(
      "\n# Added by the test harness (tests/support/postgres_server.cc).\n",
      "listen_addresses = '127.0.0.1'\n",
      "unix_socket_directories = ", ConfValue(socket_dir_), "\n",
      "fsync = ", options_.fsync ? "on" : "off", "\n",
      "max_connections = ", options_.max_connections, "\n",
      "shared_buffers = ", ConfValue(options_.shared_buffers), "\n",
      "timezone = 'UTC'\n",
      "log_timezone = 'UTC'\n");
  for (const auto& [name, value] : options_.settings) {
    absl::StrAppend(&conf, name, " = ", ConfValue(value), "\n");
  }
  std::ofstream out(data_dir_ + "/postgresql.conf", std::ios::app);
  out << conf;
  out.close();
  if (!out) return absl::InternalError("appending to " + data_dir_ + "/postgresql.conf failed");
  return absl::OkStatus();
}

absl::Status PostgresServer::StartPostmaster(bool keep_port) {
  absl::Status last;
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    int port = port_;
    if (!keep_port) {
      auto free = FreeLoopbackPort();
      if (!free.ok()) return free.status();
      port = *free;
    }
    bool port_taken = false;
    last = StartOnce(port, &port_taken);
    if (last.ok() || !port_taken) return last;
  }
  const std::string what =
      keep_port ? absl::StrCat("port ", port_, " (kept across restarts) is taken by someone else")
                : "PostgreSQL found no free port";
  return absl::UnavailableError(
      absl::StrCat(what, " (", kStartAttempts, " attempts); the last: ", last.message()));
}

absl::Status PostgresServer::StartOnce(int port, bool* port_taken) {
  const size_t log_start = FileSize(log_file_);
  ChildSpec spec;
  spec.argv = {options_.bin_dir + "/postgres", "-D", data_dir_, "-p", std::to_string(port)};
  spec.cwd = dir_->path();
  spec.output_file = log_file_;
  spec.run_as = run_as_;
  auto pid = SpawnChild(spec);
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  port_ = port;
  if (auto s = watchdog_.Start(pid_, dir_->path(), log_file_); !s.ok()) {
    (void)Shutdown();
    return s;
  }

  // PQping only once the pid file says "ready": pinging a server that is
  // still starting fills its log with "the database system is starting up".
  const std::string ping = ConnectionString("postgres") + " connect_timeout=2";
  int status = 0;
  bool exited = false;
  const bool settled = WaitFor(
      [&] {
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
          exited = true;
          return true;
        }
        return PostmasterReady(data_dir_, pid_) && PQping(ping.c_str()) == PQPING_OK;
      },
      absl::ToChronoMilliseconds(options_.start_timeout));
  if (exited) {
    pid_ = -1;
    (void)Shutdown();  // the watchdog
    const std::string log = FileTail(log_file_, 4000, log_start);
    *port_taken = absl::StrContains(log, "Address already in use");
    return absl::FailedPreconditionError(
        absl::StrCat("PostgreSQL exited during start-up on 127.0.0.1:", port, " (",
                     DescribeExit(status), "); its log ", log_file_, ":\n", log));
  }
  if (!settled) {
    const std::string log = FileTail(log_file_, 4000, log_start);
    (void)Shutdown();
    return absl::DeadlineExceededError(absl::StrCat(
        "PostgreSQL did not accept connections on 127.0.0.1:", port, " within ",
        absl::FormatDuration(options_.start_timeout), "; its log ", log_file_, ":\n", log));
  }
  return absl::OkStatus();
}

absl::Status PostgresServer::Shutdown() {
  watchdog_.Stop();
  if (pid_ <= 0) return absl::OkStatus();
  absl::Status result;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    result = absl::InternalError(absl::StrCat("PostgreSQL had already exited (",
                                              DescribeExit(status), "); its log:\n", LogTail()));
  } else {
    kill(pid_, SIGINT);  // fast shutdown: ends sessions, checkpoints, exits
    if (!WaitForChildExit(pid_, kStopBound, &status)) {
      KillWithChildren(pid_);
      result = absl::DeadlineExceededError(absl::StrCat(
          "PostgreSQL did not shut down within 30 s of SIGINT and was killed with its backends; "
          "its log:\n", LogTail()));
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      result = absl::InternalError(absl::StrCat("PostgreSQL shut down uncleanly (",
                                                DescribeExit(status), "); its log:\n", LogTail()));
    }
  }
  pid_ = -1;
  return result;
}

absl::Status PostgresServer::Stop() {
  if (owner_pid_ != getpid()) return absl::OkStatus();
  absl::Status result = Shutdown();
  dir_.reset();
  return result;
}

absl::Status PostgresServer::Restart() {
  if (dir_ == nullptr) {
    return absl::FailedPreconditionError(
        "Restart after Stop: the data directory is gone; Start a new server");
  }
  // A server that died or had to be killed restarts all the same: startup
  // recovers from the WAL, which is what failover tests want.
  (void)Shutdown();
  WaitForOldBackends(data_dir_);
  return StartPostmaster(/*keep_port=*/true);
}

std::string PostgresServer::ConnectionString(const std::string& dbname) const {
  return absl::StrCat("host=", host_, " port=", port_, " user=", ConninfoValue(user_),
                      " dbname=", ConninfoValue(dbname), " sslmode=disable");
}

std::string PostgresServer::ConnectionStringWithPassword(const std::string& dbname) const {
  return absl::StrCat(ConnectionString(dbname), " password=", ConninfoValue(password_));
}

absl::StatusOr<std::string> PostgresServer::CreateDatabase(const std::string& prefix) {
  if (!PlainIdentifier(prefix, 40)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "database prefix \"", prefix,
        "\": use 1-40 lower-case letters, digits and '_', starting with a letter"));
  }
  for (;;) {
    const std::string name = absl::StrCat(prefix, "_", next_database_++);
    // template0: empty even if someone changed template1.
    auto created = AdminSql(absl::StrCat("CREATE DATABASE ", name, " TEMPLATE template0"));
    if (created.ok()) return name;
    if (!absl::StrContains(created.status().message(), "SQLSTATE 42P04")) {
      return created.status();
    }
    // 42P04 duplicate_database: made outside the harness; take the next.
  }
}

absl::Status PostgresServer::DropDatabase(const std::string& name) {
  if (!PlainIdentifier(name, 63)) {
    return absl::InvalidArgumentError(
        absl::StrCat("database name \"", name, "\" is not one CreateDatabase makes"));
  }
  return AdminSql(absl::StrCat("DROP DATABASE ", name, " WITH (FORCE)")).status();
}

absl::StatusOr<int> PostgresServer::TerminateBackends(const std::string& database) {
  if (!PlainIdentifier(database, 63)) {
    return absl::InvalidArgumentError(
        absl::StrCat("database name \"", database, "\" is not one CreateDatabase makes"));
  }
  auto ended = AdminSql(absl::StrCat(
      "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
      "WHERE datname = '", database, "' AND pid <> pg_backend_pid()"));
  if (!ended.ok()) return ended.status();
  int count = 0;
  if (!absl::SimpleAtoi(*ended, &count)) {
    return absl::InternalError(absl::StrCat("pg_terminate_backend count: '", *ended, "'"));
  }
  return count;
}

absl::StatusOr<std::string> PostgresServer::AdminSql(const std::string& sql) const {
  if (pid_ <= 0) {
    return absl::FailedPreconditionError("the PostgreSQL test server is not running");
  }
  // Bounded: a hung server fails the test instead of blocking it.
  const std::string conninfo = ConnectionStringWithPassword("postgres") +
                               " connect_timeout=10 application_name=hart_test_harness"
                               " options='-c statement_timeout=60000'";
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(conninfo.c_str()), &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return absl::UnavailableError(
        absl::StrCat("cannot connect to the PostgreSQL test server: ", PQerrorMessage(conn.get())));
  }
  std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn.get(), sql.c_str()), &PQclear);
  const ExecStatusType status = PQresultStatus(res.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    const char* state = PQresultErrorField(res.get(), PG_DIAG_SQLSTATE);
    return absl::InternalError(
        absl::StrCat(sql, ": ", absl::StripTrailingAsciiWhitespace(PQresultErrorMessage(res.get())),
                     " (SQLSTATE ", state != nullptr ? state : "none", ")"));
  }
  if (PQntuples(res.get()) == 0 || PQnfields(res.get()) == 0) return std::string();
  return std::string(PQgetvalue(res.get(), 0, 0));
}

std::string PostgresServer::LogTail(size_t max_bytes) const {
  return dir_ == nullptr ? "" : FileTail(log_file_, max_bytes);
}

}  // namespace hart::testing
