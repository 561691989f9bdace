// When the disk fails under the SQLite writer: which errors mean it, what
// callers are told, and how a fresh writer connection proves the storage
// works again before it is trusted (SqliteConnections::RecoverWriter).
//
// Thread safety: pure functions, except ProveDurable, which uses `writer`
// (the caller holds the write lock).
#pragma once

#include "absl/status/status.h"
#include "broker/store/sqlite/sqlite_db.h"

namespace hart::sqlite {

// Whether a failed write transaction means the storage failed: an I/O
// error (a failed or short write, a failed fsync) or a full disk. What it
// wrote may be in the page cache and not on disk.
bool IsStorageFailure(const absl::Status& status);

// What a caller gets while the storage is failing: RESOURCE_EXHAUSTED
// ("the broker's storage is full") for a full disk, else UNAVAILABLE ("could
// not save it durably"). Fixed texts written for clients (no SQL, no file
// path); the cause goes to the operator's log.
absl::Status ClientStatusForStorageFailure(const absl::Status& cause);

// Makes `writer` (a connection opened after the failure) write and flush
// both files: it rewrites the database header's application_id unchanged
// (a WAL frame and its fsync), then checkpoints the log into the database
// and truncates it (SQLITE_CHECKPOINT_TRUNCATE: the database file written
// and fsynced, the log cut to zero bytes). Only frames of commits that
// succeeded are copied: the failed transaction's frames lie beyond the
// log's last commit, and the truncation removes them from the file too, so
// a crash later cannot replay them.
absl::Status ProveDurable(SqliteDb& writer);

}  // namespace hart::sqlite
