#include "broker/store/postgres/pg_conn.h"

#include <algorithm>
#include <charconv>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "broker/store_errors.h"

namespace hart::pg {
namespace {

constexpr char kBackend[] = "postgres";
// Type OIDs of the parameters we send (pg_type.h).
constexpr Oid kInt8Oid = 20;
constexpr Oid kTextOid = 25;
constexpr Oid kByteaOid = 17;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Field(const PGresult* result, int field) {
  const char* value = result ? PQresultErrorField(result, field) : nullptr;
  return value ? value : "";
}

}  // namespace

PgParams& PgParams::Int(int64_t v) {
  values_.emplace_back(std::to_string(v));
  types_.push_back(kInt8Oid);
  formats_.push_back(0);
  return *this;
}

PgParams& PgParams::Text(std::string v) {
  values_.emplace_back(std::move(v));
  types_.push_back(kTextOid);
  formats_.push_back(0);
  return *this;
}

PgParams& PgParams::Bytes(std::string v) {
  values_.emplace_back(std::move(v));
  types_.push_back(kByteaOid);
  formats_.push_back(1);
  return *this;
}

PgParams& PgParams::Array(std::string literal) {
  values_.emplace_back(std::move(literal));
  types_.push_back(0);
  formats_.push_back(0);
  return *this;
}

PgParams& PgParams::Null() {
  values_.emplace_back(std::nullopt);
  // Unspecified: the server infers the type from the statement.
  types_.push_back(0);
  formats_.push_back(0);
  return *this;
}

std::vector<const char*> PgParams::ValuePointers() const {
  std::vector<const char*> out;
  out.reserve(values_.size());
  for (const auto& v : values_) out.push_back(v ? v->data() : nullptr);
  return out;
}

std::vector<int> PgParams::Lengths() const {
  std::vector<int> out;
  out.reserve(values_.size());
  for (const auto& v : values_) out.push_back(v ? static_cast<int>(v->size()) : 0);
  return out;
}

std::vector<int> PgParams::Formats() const { return formats_; }

int64_t PgResult::affected() const {
  const char* n = PQcmdTuples(result_.get());
  int64_t value = 0;
  if (n != nullptr) std::from_chars(n, n + std::char_traits<char>::length(n), value);
  return value;
}

int64_t PgResult::Int(int row, int col) const {
  const char* text = PQgetvalue(result_.get(), row, col);
  const int length = PQgetlength(result_.get(), row, col);
  int64_t value = 0;
  std::from_chars(text, text + length, value);
  return value;
}

bool PgResult::Bool(int row, int col) const {
  const char* text = PQgetvalue(result_.get(), row, col);
  return text != nullptr && text[0] == 't';
}

std::string PgResult::Text(int row, int col) const {
  return std::string(PQgetvalue(result_.get(), row, col),
                     static_cast<size_t>(PQgetlength(result_.get(), row, col)));
}

std::string PgResult::Bytes(int row, int col) const {
  absl::string_view text(PQgetvalue(result_.get(), row, col),
                         static_cast<size_t>(PQgetlength(result_.get(), row, col)));
  // bytea_output = hex (the default since PostgreSQL 9.0): "\x" + 2 digits per byte.
  if (text.size() < 2 || text[0] != '\\' || text[1] != 'x') return std::string(text);
  std::string out;
  out.reserve((text.size() - 2) / 2);
  for (size_t i = 2; i + 1 < text.size(); i += 2) {
    const int hi = HexValue(text[i]);
    const int lo = HexValue(text[i + 1]);
    if (hi < 0 || lo < 0) break;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

PgConn::~PgConn() { PQfinish(conn_); }

absl::StatusOr<std::unique_ptr<PgConn>> PgConn::Connect(const PgConnectOptions& options) {
  const int64_t timeout_ms = absl::ToInt64Milliseconds(options.statement_timeout);
  std::vector<std::pair<std::string, std::string>> settings = {
      // dbname is expanded as a full conninfo string or URI (expand_dbname).
      {"dbname", options.conninfo},
      {"connect_timeout",
       std::to_string(std::max<int64_t>(1, absl::ToInt64Seconds(options.connect_timeout)))},
      {"application_name", "hart-broker"},
      // A database host that vanishes (power, network) is noticed in
      // seconds, not after the kernel's two hours: a replica must not wait
      // on a dead socket while others wait on its locks.
      {"keepalives", "1"},
      {"keepalives_idle", "10"},
      {"keepalives_interval", "5"},
      {"keepalives_count", "3"},
      {"tcp_user_timeout", std::to_string(std::max<int64_t>(timeout_ms, 10000))},
  };
  if (!options.password.empty()) settings.emplace_back("password", options.password);
  for (const auto& keyword : options.keywords) settings.push_back(keyword);
  std::vector<const char*> keys;
  std::vector<const char*> values;
  for (const auto& [key, value] : settings) {
    keys.push_back(key.c_str());
    values.push_back(value.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (conn == nullptr) return absl::ResourceExhaustedError("postgres: out of memory");
  std::unique_ptr<PgConn> pg(new PgConn(conn));
  if (PQstatus(conn) != CONNECTION_OK) return PgError(conn, nullptr, "connect");
  // libpq prints notices and a closing server's FATAL to stderr by default;
  // what matters reaches the caller as a status instead.
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  // Times are integers and text is UTF-8: nothing depends on the server's
  // time zone or locale; the timeout bounds every statement, and a session
  // idle inside a transaction (its broker paused or cut off while holding
  // the audit_tree lock every writer waits for) is ended soon, so the other
  // replicas wait at most that long.
  auto status = pg->Exec(absl::StrCat(
      "SET statement_timeout = ", timeout_ms, "; SET idle_in_transaction_session_timeout = ",
      absl::ToInt64Milliseconds(options.idle_in_transaction_timeout),
      "; SET client_encoding = 'UTF8'; SET bytea_output = 'hex'"
      // NOTICEs ("relation already exists, skipping") are not for the log.
      "; SET client_min_messages = 'warning'"));
  if (!status.ok()) return status;
  return pg;
}

absl::Status PgConn::Exec(const std::string& sql) {
  if (!deferred_.empty()) {
    if (absl::Status flushed = Flush(); !flushed.ok()) return flushed;
  }
  PgResult result(PQexec(conn_, sql.c_str()));
  const ExecStatusType status = PQresultStatus(result.raw());
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return absl::OkStatus();
  return PgError(conn_, result.raw(), "exec");
}

absl::StatusOr<std::string> PgConn::PreparedName(const std::string& sql,
                                                 const PgParams& params) {
  auto it = prepared_.find(sql);
  if (it != prepared_.end()) return it->second;
  std::string name = absl::StrCat("s", prepared_.size() + 1);
  PgResult result(PQprepare(conn_, name.c_str(), sql.c_str(), params.size(),
                            params.types().data()));
  if (PQresultStatus(result.raw()) != PGRES_COMMAND_OK) {
    return PgError(conn_, result.raw(), "prepare");
  }
  prepared_.emplace(sql, name);
  return name;
}

absl::StatusOr<PgResult> PgConn::Query(const std::string& sql, const PgParams& params,
                                       bool prepare) {
  std::string name;
  if (prepare) {
    auto prepared = PreparedName(sql, params);
    if (!prepared.ok()) return prepared.status();
    name = std::move(*prepared);
  }
  if (!deferred_.empty()) {
    const Deferred last{name, sql, params};
    return RunPipeline(&last);
  }
  const std::vector<const char*> values = params.ValuePointers();
  const std::vector<int> lengths = params.Lengths();
  const std::vector<int> formats = params.Formats();
  PgResult result(
      prepare ? PQexecPrepared(conn_, name.c_str(), params.size(), values.data(), lengths.data(),
                               formats.data(), /*resultFormat=*/0)
              : PQexecParams(conn_, sql.c_str(), params.size(), params.types().data(),
                             values.data(), lengths.data(), formats.data(), /*resultFormat=*/0));
  const ExecStatusType status = PQresultStatus(result.raw());
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  return PgError(conn_, result.raw(), "query");
}

absl::Status PgConn::Defer(const std::string& sql, PgParams params, bool prepare) {
  std::string name;
  if (prepare) {
    // Prepared now, outside the pipeline: once per statement and connection.
    auto prepared = PreparedName(sql, params);
    if (!prepared.ok()) return prepared.status();
    name = std::move(*prepared);
  }
  deferred_.push_back({std::move(name), sql, std::move(params)});
  return absl::OkStatus();
}

absl::Status PgConn::DeferQuery(const std::string& sql, PgParams params, PgResult* into,
                                bool prepare) {
  if (absl::Status deferred = Defer(sql, std::move(params), prepare); !deferred.ok()) {
    return deferred;
  }
  deferred_.back().into = into;
  return absl::OkStatus();
}

absl::Status PgConn::Flush() {
  if (deferred_.empty()) return absl::OkStatus();
  return RunPipeline(nullptr).status();
}

std::vector<size_t> PipelineSliceEnds(const std::vector<size_t>& sizes, size_t max_statements,
                                      size_t max_bytes) {
  std::vector<size_t> ends;
  size_t start = 0, bytes = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    const bool full = i - start == max_statements || (i > start && bytes + sizes[i] > max_bytes);
    if (full) {
      ends.push_back(i);
      start = i;
      bytes = 0;
    }
    bytes += sizes[i];
  }
  if (start < sizes.size()) ends.push_back(sizes.size());
  return ends;
}

size_t PgConn::PipelinedSize(const Deferred& statement) {
  // Bind's parameters and, unprepared, Parse's text; the framing is small.
  size_t size = statement.name.empty() ? statement.sql.size() : statement.name.size();
  for (int length : statement.params.Lengths()) size += static_cast<size_t>(std::max(length, 0));
  return size + 64;
}

absl::Status PgConn::SendPipelined(const Deferred& statement) {
  const std::vector<const char*> values = statement.params.ValuePointers();
  const std::vector<int> lengths = statement.params.Lengths();
  const std::vector<int> formats = statement.params.Formats();
  const int sent =
      statement.name.empty()
          ? PQsendQueryParams(conn_, statement.sql.c_str(), statement.params.size(),
                              statement.params.types().data(), values.data(), lengths.data(),
                              formats.data(), /*resultFormat=*/0)
          : PQsendQueryPrepared(conn_, statement.name.c_str(), statement.params.size(),
                                values.data(), lengths.data(), formats.data(),
                                /*resultFormat=*/0);
  if (sent != 1) return PgError(conn_, nullptr, "pipeline");
  return absl::OkStatus();
}

absl::StatusOr<PgResult> PgConn::RunPipeline(const Deferred* last) {
  std::vector<Deferred> batch;
  batch.swap(deferred_);
  if (PQenterPipelineMode(conn_) != 1) return PgError(conn_, nullptr, "pipeline");
  // Until every result is read back the connection is in an unknown state.
  poisoned_ = true;
  // Sent in slices with a sync each. Two reasons. A blocking connection
  // that writes a long pipeline while the server's answers fill the socket
  // the other way could wait forever on both sides. And a server waiting
  // for the rest of a slice has no timeout at all (statement_timeout stops
  // after each Execute; idle_in_transaction_session_timeout starts only at
  // a Sync): were this broker paused after libpq flushed part of a slice
  // (it does at 64 KiB), the locks it holds, audit_tree's among them, would
  // stop every replica for as long as the pause. A slice stays under that
  // size, so it leaves in one flush with its Sync, and a pause between
  // slices is an idle transaction the server ends.
  const size_t total = batch.size() + (last != nullptr ? 1 : 0);
  auto statement = [&](size_t i) -> const Deferred& { return i < batch.size() ? batch[i] : *last; };
  std::vector<size_t> sizes(total);
  for (size_t i = 0; i < total; ++i) sizes[i] = PipelinedSize(statement(i));
  absl::Status first_error;
  PgResult answer(nullptr);
  size_t start = 0;
  for (const size_t end : PipelineSliceEnds(sizes, kSliceStatements, kSliceBytes)) {
    for (size_t i = start; i < end; ++i) {
      if (absl::Status sent = SendPipelined(statement(i)); !sent.ok()) {
        return sent;  // poisoned: the pool closes the connection
      }
    }
    if (PQpipelineSync(conn_) != 1) return PgError(conn_, nullptr, "pipeline");
    for (size_t i = start; i < end; ++i) {
      PGresult* raw = PQgetResult(conn_);
      if (raw == nullptr) return PgError(conn_, nullptr, "pipeline");
      PgResult result(raw);
      // Each statement's result is followed by a null.
      if (PGresult* extra = PQgetResult(conn_); extra != nullptr) {
        PQclear(extra);
        return absl::InternalError("postgres pipeline: more results than statements");
      }
      const ExecStatusType status = PQresultStatus(result.raw());
      if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
        if (i == batch.size()) {
          answer = std::move(result);  // `last`
        } else if (batch[i].into != nullptr) {
          *batch[i].into = std::move(result);
        }
      } else if (status != PGRES_PIPELINE_ABORTED && first_error.ok()) {
        // Statements after a failed one are skipped (PIPELINE_ABORTED).
        first_error = PgError(conn_, result.raw(), "query");
      }
    }
    PgResult sync(PQgetResult(conn_));
    if (PQresultStatus(sync.raw()) != PGRES_PIPELINE_SYNC) {
      return PgError(conn_, sync.raw(), "pipeline sync");
    }
    start = end;
  }
  if (PQexitPipelineMode(conn_) != 1) return PgError(conn_, nullptr, "pipeline");
  poisoned_ = false;
  if (!first_error.ok()) return first_error;
  return answer;
}

bool PgConn::broken() const {
  return poisoned_ || retired_ || PQstatus(conn_) != CONNECTION_OK;
}

bool PgConn::StillAlive() {
  // libpq's sockets are non-blocking inside: these return at once. A server
  // that ended the session sent a FATAL message, then closed: the first
  // read takes the message, the second meets the end of the stream.
  for (int read = 0; read < 2; ++read) {
    if (PQconsumeInput(conn_) != 1 || PQstatus(conn_) != CONNECTION_OK) return false;
  }
  return true;
}

bool PgConn::in_transaction() const {
  if (!deferred_.empty()) return true;
  const PGTransactionStatusType status = PQtransactionStatus(conn_);
  return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
}

void ArrayParam::Add(std::string_view text) {
  Separate();
  body_ += '"';
  for (char c : text) {
    if (c == '"' || c == '\\') body_ += '\\';
    body_ += c;
  }
  body_ += '"';
}

void ArrayParam::AddHex(std::string_view bytes) {
  // Quoted as text is: an empty element must still be one ("").
  Add(absl::BytesToHexString(absl::string_view(bytes.data(), bytes.size())));
}

void ArrayParam::AddNull() {
  Separate();
  body_ += "NULL";
}

void ArrayParam::Add(int64_t value) {
  Separate();
  absl::StrAppend(&body_, value);
}

absl::StatusCode StatusCodeForSqlState(const std::string& sqlstate) {
  if (sqlstate == "23505") return absl::StatusCode::kAlreadyExists;  // unique_violation
  // hart_expect_one (pg_schema.cc): a pipelined compare-and-set was lost.
  if (sqlstate == kLostCompareAndSet) return absl::StatusCode::kAborted;
  const std::string cls = sqlstate.substr(0, 2);
  // Serialization failures and deadlocks: the whole transaction rolled back
  // and may simply run again; to the contract that is a transient failure,
  // not a lost compare-and-set of one item.
  if (cls == "40") return absl::StatusCode::kUnavailable;
  // Connection exceptions, operator intervention (admin shutdown,
  // pg_terminate_backend, statement timeout), cannot connect now.
  if (cls == "08" || cls == "57") return absl::StatusCode::kUnavailable;
  if (sqlstate == "53100") return absl::StatusCode::kResourceExhausted;  // disk_full
  if (cls == "53") return absl::StatusCode::kUnavailable;  // out of memory, too many connections
  if (cls == "58") return absl::StatusCode::kUnavailable;  // I/O error
  if (sqlstate == "XX001" || sqlstate == "XX002") return absl::StatusCode::kDataLoss;
  // A read-only transaction: the server is a standby (after a failover, a
  // connection to the old primary's address); retry on a new connection.
  if (sqlstate == "25006") return absl::StatusCode::kUnavailable;
  // The server ended a transaction that idled or ran past its timeout (and
  // with it the session): a new connection succeeds.
  if (sqlstate == "25P03" || sqlstate == "25P04") return absl::StatusCode::kUnavailable;
  if (cls == "25") return absl::StatusCode::kInternal;  // invalid transaction state: a bug
  // NOT NULL, CHECK, FOREIGN KEY violations, syntax errors: the broker wrote
  // something malformed.
  return absl::StatusCode::kInternal;
}

absl::Status PgError(PGconn* conn, const PGresult* result, const std::string& what) {
  const std::string sqlstate = Field(result, PG_DIAG_SQLSTATE);
  if (sqlstate.empty()) {
    // No server answer: the connection failed or broke (libpq's message names
    // the host, the port or the authentication step, never a value).
    std::string message = conn ? PQerrorMessage(conn) : "no connection";
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
      message.pop_back();
    }
    return BackendError(absl::StatusCode::kUnavailable,
                        absl::StrCat("postgres ", what, ": ", message), kBackend);
  }
  std::string where;
  for (const auto& [label, field] :
       {std::pair{"table", PG_DIAG_TABLE_NAME}, std::pair{"column", PG_DIAG_COLUMN_NAME},
        std::pair{"constraint", PG_DIAG_CONSTRAINT_NAME}}) {
    const std::string value = Field(result, field);
    if (!value.empty()) absl::StrAppend(&where, " ", label, " ", value);
  }
  // The primary message only for classes whose messages never quote a
  // value (syntax and undefined objects, connections, resources, operator
  // intervention, system errors, transaction rollback, internal errors).
  const std::string cls = sqlstate.substr(0, 2);
  std::string primary;
  if (cls == "42" || cls == "08" || cls == "53" || cls == "57" || cls == "58" || cls == "40" ||
      cls == "XX") {
    primary = absl::StrCat(": ", Field(result, PG_DIAG_MESSAGE_PRIMARY));
  }
  return BackendError(
      StatusCodeForSqlState(sqlstate),
      absl::StrCat("postgres ", what, ": SQLSTATE ", sqlstate, where, primary), kBackend);
}

}  // namespace hart::pg
