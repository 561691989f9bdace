// Thin RAII helpers over libpq: one connection with a prepared-statement
// cache, typed parameters, and a result reader. Errors become absl::Status
// following the store's error contract (broker/include/broker/store_errors.h)
// by SQLSTATE; their text names the SQLSTATE, table, column and constraint
// only, never a value (PostgreSQL's DETAIL and some primary messages quote
// values, which may be case ids).
//
// Parameters travel in binary for bytes (no escaping) and in text for
// numbers and strings; results come back in text (bytea as hex).
//
// Round trips: a write whose caller needs nothing but its success is
// deferred (Defer) and sent with the next statement that needs an answer,
// all in one round trip (libpq's pipeline mode): a transaction of many
// inserts costs a few round trips, not one per row.
//
// Thread safety: a PgConn is used by one thread at a time (the pool hands
// each out to one holder).
#pragma once

#include <libpq-fe.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace hart::pg {

// A one-dimensional array parameter in PostgreSQL's text form
// ({"a","b"} or {1,2}), so one statement takes a whole batch
// (unnest($1::text[], $2::int8[])) instead of one round trip per row.
class ArrayParam {
 public:
  void Add(std::string_view text);  // quoted; '"' and '\' escaped
  void Add(int64_t value);
  void Add(std::optional<int64_t> value) { value ? Add(*value) : AddNull(); }
  void AddNull();
  // Bytes as hex text: an array literal has no bytea escape of its own, so
  // the statement decodes them (decode(x, 'hex')).
  void AddHex(std::string_view bytes);
  std::string Literal() const { return absl::StrCat("{", body_, "}"); }

 private:
  void Separate() {
    if (!body_.empty()) body_ += ',';
  }
  std::string body_;
};

// Bound values of one statement, $1 first.
class PgParams {
 public:
  PgParams& Int(int64_t v);
  PgParams& Text(std::string v);
  PgParams& Bytes(std::string v);
  PgParams& Null();
  // An array in its text form ({"a","b"}, ArrayParam::Literal), its type
  // left for the server to take from the statement's cast ($1::text[]): a
  // text parameter cast there would be parsed again wherever the cast is
  // evaluated, for each row a filter or recheck reads.
  PgParams& Array(std::string literal);
  PgParams& OptInt(std::optional<int64_t> v) { return v ? Int(*v) : Null(); }
  // absl::Time as microseconds since the epoch (the schema's time type).
  PgParams& Micros(absl::Time t) { return Int(absl::ToUnixMicros(t)); }
  PgParams& OptMicros(std::optional<absl::Time> t) {
    return t ? Micros(*t) : Null();
  }
  // A LIMIT: SQLite reads a negative one as "no limit", PostgreSQL refuses
  // it, so a size_t beyond int64 becomes the largest LIMIT, never wraps.
  PgParams& Limit(size_t n) {
    return Int(static_cast<int64_t>(
        std::min<uint64_t>(n, static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))));
  }

  int size() const { return static_cast<int>(values_.size()); }
  const std::vector<Oid>& types() const { return types_; }
  // Pointers into this object: valid while it lives and is not changed.
  std::vector<const char*> ValuePointers() const;
  std::vector<int> Lengths() const;
  std::vector<int> Formats() const;

 private:
  std::vector<std::optional<std::string>> values_;
  std::vector<Oid> types_;
  std::vector<int> formats_;
};

// A statement's rows (text format).
class PgResult {
 public:
  explicit PgResult(PGresult* result) : result_(result, &PQclear) {}

  int rows() const { return PQntuples(result_.get()); }
  // Rows an INSERT, UPDATE or DELETE changed.
  int64_t affected() const;
  bool IsNull(int row, int col) const { return PQgetisnull(result_.get(), row, col) != 0; }
  int64_t Int(int row, int col) const;
  std::optional<int64_t> OptInt(int row, int col) const {
    if (IsNull(row, col)) return std::nullopt;
    return Int(row, col);
  }
  std::optional<absl::Time> OptTime(int row, int col) const {
    if (IsNull(row, col)) return std::nullopt;
    return absl::FromUnixMicros(Int(row, col));
  }
  absl::Time Time(int row, int col) const { return absl::FromUnixMicros(Int(row, col)); }
  bool Bool(int row, int col) const;
  std::string Text(int row, int col) const;
  // A bytea column, decoded from PostgreSQL's hex output.
  std::string Bytes(int row, int col) const;
  const PGresult* raw() const { return result_.get(); }

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> result_;
};

struct PgConnectOptions {
  // libpq conninfo without the password ("host=... port=... dbname=...").
  std::string conninfo;
  // Empty: none (trust, peer or a ~/.pgpass the operator manages).
  std::string password;
  // More libpq keywords (sslmode, sslrootcert), given apart from conninfo
  // so that a URI-style conninfo stays intact.
  std::vector<std::pair<std::string, std::string>> keywords;
  // Every statement of this connection is cancelled after this long (0:
  // none), so a stuck database answers UNAVAILABLE instead of hanging.
  absl::Duration statement_timeout = absl::Seconds(30);
  // The server ends a session idle inside a transaction this long (0:
  // never): a stalled broker's locks are released (config
  // store.postgres.idle_in_transaction_timeout).
  absl::Duration idle_in_transaction_timeout = absl::Seconds(2);
  // How long a connection attempt may take.
  absl::Duration connect_timeout = absl::Seconds(10);
};

class PgConn {
 public:
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  // UNAVAILABLE (with libpq's reason: host, port, authentication) if the
  // server cannot be reached.
  static absl::StatusOr<std::unique_ptr<PgConn>> Connect(const PgConnectOptions& options);

  // Runs one or more statements without parameters (DDL, SAVEPOINT),
  // after what was deferred (whose first error it returns instead).
  absl::Status Exec(const std::string& sql);
  // Runs `sql` as a cached prepared statement with `params`, in one round
  // trip with what was deferred (whose first error it returns instead).
  // `prepare` false: planned for its values on every run instead (see
  // kPlanEachRun).
  absl::StatusOr<PgResult> Query(const std::string& sql, const PgParams& params = {},
                                 bool prepare = true);

  // Queues `sql` to run before the next Query, Exec or Flush, in their
  // round trip. Its error (a constraint, a lost connection) is theirs: a
  // statement after a failed one does not run. Inside a transaction only,
  // which then ends with Flush (COMMIT deferred last) or DiscardDeferred
  // and ROLLBACK. `prepare`: a cached prepared statement (false: sent as
  // is, for BEGIN and COMMIT).
  absl::Status Defer(const std::string& sql, PgParams params = {}, bool prepare = true);
  // Defer for a statement whose answer is wanted: it lands in `*into` when
  // the round trip runs (which must happen while `into` lives). Several
  // reads then share one round trip, each statement seeing the commits
  // before it (a new snapshot per statement under READ COMMITTED).
  absl::Status DeferQuery(const std::string& sql, PgParams params, PgResult* into,
                          bool prepare = true);
  // Runs what was deferred and returns its first error.
  absl::Status Flush();
  // Drops what was deferred, unsent (the transaction is being rolled back).
  void DiscardDeferred() { deferred_.clear(); }

  // The connection broke (server restart, pg_terminate_backend, network):
  // the pool drops it instead of handing it out again.
  bool broken() const;
  // Reads what the server sent meanwhile without waiting: false if it
  // closed the connection (a restart, pg_terminate_backend), which libpq
  // otherwise only notices when the next statement fails.
  bool StillAlive();
  // Whether a transaction is open (or failed and awaiting ROLLBACK), or
  // statements are deferred (a pooled connection is then not reused).
  bool in_transaction() const;
  // For good: broken() from now on, so the pool closes it on its return
  // (a cancel was sent for its statement; pg_stoppable_reads.h).
  void Retire() { retired_ = true; }
  PGconn* raw() const { return conn_; }

 private:
  struct Deferred {
    std::string name;  // a prepared statement's; empty: `sql` unprepared
    std::string sql;
    PgParams params;
    PgResult* into = nullptr;  // DeferQuery's
  };

  explicit PgConn(PGconn* conn) : conn_(conn) {}
  absl::StatusOr<std::string> PreparedName(const std::string& sql, const PgParams& params);
  // Sends the deferred statements, then `last` (if any), in pipeline mode
  // with one sync; the first error, else `last`'s result.
  absl::StatusOr<PgResult> RunPipeline(const Deferred* last);
  absl::Status SendPipelined(const Deferred& statement);
  // About the bytes `statement` adds to the pipeline.
  static size_t PipelinedSize(const Deferred& statement);

  PGconn* conn_;
  std::map<std::string, std::string> prepared_;  // sql -> statement name
  std::vector<Deferred> deferred_;
  // A pipeline's results could not be read to the end: the connection's
  // state is unknown, so it is never used again.
  bool poisoned_ = false;
  bool retired_ = false;  // Retire
};

// `prepare` for a statement that finds rows by a list of keys in a table
// that grows (`id = ANY ($1::text[])`, `UPDATE ... FROM unnest(...)`): a
// prepared statement soon runs one generic plan, and one chosen while the
// table was small scans it whole on every run (a hash join for the UPDATE)
// until an ANALYZE makes PostgreSQL plan again: on a new database, until
// autovacuum's first pass, up to a minute of fast growth (measured at 300
// intakes/s: 7-25 ms a lookup). Planned for its keys each run, it reads
// them by the index, whatever the statistics say, for 0.05-0.3 ms of
// planning a run.
inline constexpr bool kPlanEachRun = false;

// Raised by hart_expect_one (pg_schema.cc) when a compare-and-set sent
// without waiting for its row count matched no row: ABORTED.
inline constexpr char kLostCompareAndSet[] = "HT409";

// The store's error code for a SQLSTATE (e.g. "23505").
absl::StatusCode StatusCodeForSqlState(const std::string& sqlstate);

// How a pipeline is cut into slices, each sent with its Sync (RunPipeline
// says why): the end index of each, given every statement's size in bytes.
// A slice holds at most `max_statements`, and more than `max_bytes` only
// when one statement alone is that large.
inline constexpr size_t kSliceStatements = 256;
inline constexpr size_t kSliceBytes = 32 * 1024;  // under libpq's 64 KiB flush threshold
std::vector<size_t> PipelineSliceEnds(const std::vector<size_t>& sizes, size_t max_statements,
                                      size_t max_bytes);

// The status for a failed statement result, or for the connection's last
// error when `result` is null: StatusCodeForSqlState (UNAVAILABLE when the
// connection is gone), marked as backend text (BackendError).
absl::Status PgError(PGconn* conn, const PGresult* result, const std::string& what);

}  // namespace hart::pg
