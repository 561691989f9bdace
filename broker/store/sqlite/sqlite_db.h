// Thin RAII helpers over the SQLite C API: a connection with a statement
// cache, and a statement binder/reader. Errors become absl::Status following
// the store's error contract (broker/include/broker/store_errors.h).
//
// Thread safety: a SqliteDb is used by one thread at a time (the store
// guards each connection).
#pragma once

#include <sqlite3.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hart::sqlite {

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement() {
    if (stmt_ == nullptr) return;  // moved from
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Statement(Statement&& other) noexcept
      : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& operator=(Statement&&) = delete;

  // Ready to run again with new bindings.
  void Reset() { sqlite3_reset(stmt_); }
  Statement& Bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); return *this; }
  // Bind and BindBlob copy the string into the statement.
  Statement& Bind(int i, const std::string& v) { return BindText(i, v, SQLITE_TRANSIENT); }
  Statement& BindBlob(int i, const std::string& v) { return BindBytes(i, v, SQLITE_TRANSIENT); }
  // Bind without a copy, for the writer's hottest inserts (a copy was a
  // malloc and a free per string, issue 15): `v` must outlive the statement's
  // run and not change before it. Temporaries are refused at compile time.
  Statement& BindRef(int i, const std::string& v) { return BindText(i, v, SQLITE_STATIC); }
  Statement& BindBlobRef(int i, const std::string& v) { return BindBytes(i, v, SQLITE_STATIC); }
  Statement& BindRef(int i, std::string&& v) = delete;
  Statement& BindBlobRef(int i, std::string&& v) = delete;
  Statement& BindNull(int i) { sqlite3_bind_null(stmt_, i); return *this; }
  Statement& Bind(int i, std::optional<int64_t> v) {
    return v ? Bind(i, *v) : BindNull(i);
  }

  // True if a row is available, false when done; error otherwise.
  absl::StatusOr<bool> Step();
  // Runs to completion (for statements that return no rows).
  absl::Status Run();

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::optional<int64_t> OptInt(int col) const {
    if (IsNull(col)) return std::nullopt;
    return Int(col);
  }
  std::string Text(int col) const {
    const void* p = sqlite3_column_blob(stmt_, col);
    const int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::string(static_cast<const char*>(p), n) : std::string();
  }

 private:
  // `lifetime`: SQLITE_TRANSIENT (copied) or SQLITE_STATIC (the caller's).
  Statement& BindText(int i, const std::string& v, sqlite3_destructor_type lifetime) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), lifetime);
    return *this;
  }
  Statement& BindBytes(int i, const std::string& v, sqlite3_destructor_type lifetime) {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), lifetime);
    return *this;
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

// What SqliteDb::Prepare returns: the connection's cached statement, used
// through -> and *, reset with its bindings cleared when this goes. Held by
// value, not allocated: the writer prepares some fifty statements an intake.
class PreparedStatement {
 public:
  PreparedStatement(sqlite3* db, sqlite3_stmt* stmt) : statement_(db, stmt) {}
  Statement* operator->() { return &statement_; }
  const Statement* operator->() const { return &statement_; }
  Statement& operator*() { return statement_; }
  const Statement& operator*() const { return statement_; }
  // Resets the statement now, before this goes; nothing may use it after.
  void Release() { Statement released(std::move(statement_)); }

 private:
  Statement statement_;
};

class SqliteDb {
 public:
  ~SqliteDb();
  // How a connection writes its write-ahead log: kCombined sends each
  // commit's frames in a few large writes (sqlite_wal_combiner.h), only for a
  // connection that keeps `synchronous = FULL`.
  enum class WalWrites { kDirect, kCombined };
  // Opens (creating if needed) `path` with the given pragmas applied.
  static absl::StatusOr<std::unique_ptr<SqliteDb>> Open(
      const std::string& path, bool read_only, WalWrites wal_writes = WalWrites::kDirect);
  absl::Status Exec(const std::string& sql);
  // A cached prepared statement; reset when the returned object dies.
  // Looked up by the SQL text without copying it: the writer prepares some
  // fifty statements an intake and its acknowledgements.
  absl::StatusOr<PreparedStatement> Prepare(absl::string_view sql);
  int64_t Changes() const { return sqlite3_changes64(db_); }
  sqlite3* raw() const { return db_; }

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  absl::flat_hash_map<std::string, sqlite3_stmt*> cache_;
};

// The store's error code (broker/include/broker/store_errors.h) for a SQLite
// result code, primary or extended.
absl::StatusCode StatusCodeForSqlite(int rc);

// Payload type URL of the SQLite result code (extended, decimal) that
// SqliteError attaches to the status it builds.
inline constexpr char kSqliteCodeTypeUrl[] = "type.hart.internal/sqlite-code";

// The SQLite result code a status from SqliteError carries; nullopt for
// any other status.
std::optional<int> SqliteCodeOf(const absl::Status& status);

// The status for a failed SQLite call: StatusCodeForSqlite of `rc` (refined
// by the connection's extended code when `rc` is only the primary one), and
// "sqlite <what>: <SQLite's message>" marked as backend text (BackendError),
// so the gRPC edge never shows it to a client; the result code rides along
// (SqliteCodeOf).
absl::Status SqliteError(sqlite3* db, int rc, const std::string& what);

// The SQL of cached statements SQLite prepared again more than once before
// their connection closed, since the last call. A bound value that could
// decide whether a partial index applies (`state = ?` against an index
// `WHERE state = 1`) makes SQLite re-parse and re-plan the statement on
// every bind; such values are written into the SQL instead. The SQLite
// store conformance suite holds this list empty.
std::vector<std::string> TakeReplannedStatements();

// Steps `stmt` to the end, mapping every row with `read(stmt)`.
template <typename Read>
auto CollectRows(Statement& stmt, Read read)
    -> absl::StatusOr<std::vector<decltype(read(stmt))>> {
  std::vector<decltype(read(stmt))> rows;
  for (;;) {
    auto row = stmt.Step();
    if (!row.ok()) return row.status();
    if (!*row) return rows;
    rows.push_back(read(stmt));
  }
}

}  // namespace hart::sqlite
