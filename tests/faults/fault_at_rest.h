// Corrupted input at rest: one flipped byte in a stored row, written behind
// the broker's back (SQLite: a separate connection through the sqlite3 C
// API, as another process or a bad disk would; PostgreSQL: an UPDATE by the
// superuser). Flipping the same byte again restores the row.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace hart::testing {

// Which byte of which row: `column` of the row of `table` whose `key_column`
// equals `key` (a text key, or a decimal integer key when `integer_key`);
// byte `offset` of the value (0-based).
struct RowByte {
  std::string table;
  std::string column;
  std::string key_column;
  std::string key;
  bool integer_key = false;
  uint32_t offset = 0;
  // A TEXT column (PostgreSQL: flipped through its UTF-8 bytes; the byte
  // must stay ASCII). SQLite keeps each value's storage class either way.
  bool text = false;
};

// XORs the byte with 0x01 in the SQLite database file `db_path` while the
// broker may be running (waits up to 10 s for its write lock).
absl::Status FlipByteSqlite(const std::string& db_path, const RowByte& at);
// The same in PostgreSQL (`conninfo` with a password): bytea or text columns.
absl::Status FlipBytePostgres(const std::string& conninfo, const RowByte& at);

}  // namespace hart::testing
