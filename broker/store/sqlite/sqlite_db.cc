#include "broker/store/sqlite/sqlite_db.h"

#include <set>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "broker/store/sqlite/sqlite_library.h"
#include "broker/store/sqlite/sqlite_wal_combiner.h"
#include "broker/store_errors.h"

namespace hart::sqlite {

namespace {

constexpr char kBackend[] = "sqlite";

absl::Mutex& ReplannedMu() {
  static absl::Mutex* mu = new absl::Mutex();
  return *mu;
}
std::set<std::string>& ReplannedSql() {
  static std::set<std::string>* sql = new std::set<std::string>();
  return *sql;
}

// `rc` as precisely as the connection knows it: sqlite3_exec and a few other
// paths may report only the primary code of an extended one.
int ExtendedCode(sqlite3* db, int rc) {
  if (db == nullptr || rc != (rc & 0xff)) return rc;
  const int extended = sqlite3_extended_errcode(db);
  return (extended & 0xff) == rc ? extended : rc;
}

// SQLite's text, which names tables, columns, constraints or the file, never
// a bound value. `detail` overrides sqlite3_errmsg when the caller has it.
absl::Status MakeError(int rc, const std::string& what, const char* detail) {
  absl::Status status =
      BackendError(StatusCodeForSqlite(rc),
                   absl::StrCat("sqlite ", what, ": ", detail ? detail : sqlite3_errstr(rc)),
                   kBackend);
  // The exact code, for the writer's failure handling (an I/O error and a
  // busy lock are both UNAVAILABLE, but only one means a failed disk).
  status.SetPayload(kSqliteCodeTypeUrl, absl::Cord(absl::StrCat(rc)));
  return status;
}

}  // namespace

std::optional<int> SqliteCodeOf(const absl::Status& status) {
  const auto payload = status.GetPayload(kSqliteCodeTypeUrl);
  int rc = 0;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &rc)) return std::nullopt;
  return rc;
}

absl::StatusCode StatusCodeForSqlite(int rc) {
  switch (rc) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
      return absl::StatusCode::kAlreadyExists;
    default:
      break;
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
    // The file or its file system became read-only (permissions, a mount
    // remounted read-only after I/O errors): the operator's to fix, and
    // nothing was written, so retrying later is right.
    case SQLITE_READONLY:
      return absl::StatusCode::kUnavailable;
    case SQLITE_FULL:
      return absl::StatusCode::kResourceExhausted;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::StatusCode::kDataLoss;
    default:
      // Includes NOT NULL, CHECK, FOREIGN KEY and trigger constraint failures:
      // the broker wrote something malformed.
      return absl::StatusCode::kInternal;
  }
}

absl::Status SqliteError(sqlite3* db, int rc, const std::string& what) {
  const int code = ExtendedCode(db, rc);
  return MakeError(code, what, db ? sqlite3_errmsg(db) : nullptr);
}

absl::StatusOr<bool> Statement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db_, rc, "step");
}

absl::Status Statement::Run() {
  for (;;) {
    auto row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
  }
}

SqliteDb::~SqliteDb() {
  for (auto& [sql, stmt] : cache_) {
    // Once is a schema change (a migration); more is a re-plan per bind.
    if (sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_REPREPARE, 0) > 1) {
      absl::MutexLock lock(&ReplannedMu());
      ReplannedSql().insert(sql);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close_v2(db_);
}

std::vector<std::string> TakeReplannedStatements() {
  absl::MutexLock lock(&ReplannedMu());
  std::vector<std::string> out(ReplannedSql().begin(), ReplannedSql().end());
  ReplannedSql().clear();
  return out;
}

absl::StatusOr<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path,
                                                         bool read_only, WalWrites wal_writes) {
  ConfigureSqliteLibrary();
  const bool combined = wal_writes == WalWrites::kCombined;
  if (combined) {
    if (auto s = InstallWalWriteCombiner(); !s.ok()) return s;
  }
  sqlite3* db = nullptr;
  const int flags = (read_only ? SQLITE_OPEN_READONLY
                               : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                    SQLITE_OPEN_NOMUTEX;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db, flags, combined ? kWalCombinerVfs : nullptr);
  if (rc != SQLITE_OK) {
    absl::Status status = SqliteError(db, rc, absl::StrCat("open ", path));
    sqlite3_close_v2(db);
    return status;
  }
  sqlite3_extended_result_codes(db, 1);
  auto out = std::unique_ptr<SqliteDb>(new SqliteDb(db));
  // Readers and the writer coexist in WAL mode; wait rather than fail when
  // a checkpoint holds a lock briefly.
  if (auto s = out->Exec("PRAGMA busy_timeout = 5000"); !s.ok()) return s;
  // A larger cache keeps the hot index pages of the writer resident. No
  // memory map (mmap_size): a read transaction that finds the log changed
  // drops its connection's whole map, and its next page from the database
  // file maps the file again, an munmap (a TLB shootdown on every core) and
  // an mmap per such read, 740 a second at 1,000 intakes a second fanned
  // out; pread cost 1.7 % less CPU there and reads at a million referrals
  // the same (issue 15).
  for (const char* pragma : {"PRAGMA cache_size = -32768", "PRAGMA temp_store = MEMORY"}) {
    if (auto s = out->Exec(pragma); !s.ok()) return s;
  }
  return out;
}

absl::Status SqliteDb::Exec(const std::string& sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    absl::Status status = MakeError(ExtendedCode(db_, rc), "exec", err);
    sqlite3_free(err);
    return status;
  }
  return absl::OkStatus();
}

absl::StatusOr<PreparedStatement> SqliteDb::Prepare(absl::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, "prepare");
    it = cache_.emplace(std::string(sql), stmt).first;
  }
  return PreparedStatement(db_, it->second);
}

}  // namespace hart::sqlite
