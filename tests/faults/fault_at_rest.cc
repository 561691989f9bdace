#include "tests/faults/fault_at_rest.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "libpq-fe.h"
#include "sqlite3.h"

namespace hart::testing {
namespace {

using Db = std::unique_ptr<sqlite3, decltype(&sqlite3_close)>;
using Stmt = std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)>;

Stmt Prepare(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  return Stmt(stmt, &sqlite3_finalize);
}

void BindKey(sqlite3_stmt* stmt, int index, const RowByte& at) {
  if (at.integer_key) {
    sqlite3_bind_int64(stmt, index, std::stoll(at.key));
  } else {
    sqlite3_bind_text(stmt, index, at.key.c_str(), -1, SQLITE_TRANSIENT);
  }
}

}  // namespace

absl::Status FlipByteSqlite(const std::string& db_path, const RowByte& at) {
  sqlite3* raw = nullptr;
  const int opened = sqlite3_open_v2(db_path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr);
  Db db(raw, &sqlite3_close);
  if (opened != SQLITE_OK) return absl::UnavailableError("cannot open the database");
  sqlite3_busy_timeout(db.get(), 10000);
  // One transaction: the broker's writer cannot slip in between the read
  // and the write of the row.
  if (sqlite3_exec(db.get(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return absl::UnavailableError("cannot take the write lock");
  }
  Stmt read = Prepare(db.get(), absl::StrCat("SELECT ", at.column, ", typeof(", at.column,
                                             ") FROM ", at.table, " WHERE ", at.key_column,
                                             " = ?"));
  if (!read) return absl::InternalError("cannot prepare the read");
  BindKey(read.get(), 1, at);
  if (sqlite3_step(read.get()) != SQLITE_ROW) {
    sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    return absl::NotFoundError("no such row");
  }
  const auto* bytes = static_cast<const char*>(sqlite3_column_blob(read.get(), 0));
  std::string value(bytes == nullptr ? "" : bytes,
                    static_cast<size_t>(sqlite3_column_bytes(read.get(), 0)));
  const bool text = std::string(reinterpret_cast<const char*>(
                        sqlite3_column_text(read.get(), 1))) == "text";
  read.reset();
  if (at.offset >= value.size()) {
    sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    return absl::OutOfRangeError("the value is shorter than the offset");
  }
  value[at.offset] = static_cast<char>(value[at.offset] ^ 0x01);
  Stmt write = Prepare(db.get(), absl::StrCat("UPDATE ", at.table, " SET ", at.column,
                                              " = ? WHERE ", at.key_column, " = ?"));
  if (!write) return absl::InternalError("cannot prepare the write");
  // The column keeps its storage class: a TEXT detail stays TEXT.
  if (text) {
    sqlite3_bind_text(write.get(), 1, value.data(), static_cast<int>(value.size()),
                      SQLITE_TRANSIENT);
  } else {
    sqlite3_bind_blob(write.get(), 1, value.data(), static_cast<int>(value.size()),
                      SQLITE_TRANSIENT);
  }
  BindKey(write.get(), 2, at);
  const int stepped = sqlite3_step(write.get());
  write.reset();
  if (stepped != SQLITE_DONE ||
      sqlite3_exec(db.get(), "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    return absl::InternalError("the write failed");
  }
  return absl::OkStatus();
}

absl::Status FlipBytePostgres(const std::string& conninfo, const RowByte& at) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(conninfo.c_str()), &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) return absl::UnavailableError("cannot connect");
  const std::string index = std::to_string(at.offset);  // get_byte/set_byte count from 0
  const std::string bytes =
      at.text ? absl::StrCat("convert_to(", at.column, ", 'UTF8')") : at.column;
  const std::string flipped =
      absl::StrCat("set_byte(", bytes, ", ", index, ", get_byte(", bytes, ", ", index, ") # 1)");
  const std::string sql = absl::StrCat(
      "UPDATE ", at.table, " SET ", at.column, " = ",
      at.text ? absl::StrCat("convert_from(", flipped, ", 'UTF8')") : flipped, " WHERE ",
      at.key_column, " = $1", at.integer_key ? "::bigint" : "");
  const char* params[] = {at.key.c_str()};
  std::unique_ptr<PGresult, decltype(&PQclear)> res(
      PQexecParams(conn.get(), sql.c_str(), 1, nullptr, params, nullptr, nullptr, 0), &PQclear);
  if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) return absl::InternalError("update failed");
  if (std::string(PQcmdTuples(res.get())) != "1") return absl::NotFoundError("no such row");
  return absl::OkStatus();
}

}  // namespace hart::testing
