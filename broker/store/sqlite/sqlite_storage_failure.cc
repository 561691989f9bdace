#include "broker/store/sqlite/sqlite_storage_failure.h"

#include "absl/strings/str_cat.h"
#include "broker/common/client_facing_status.h"
#include "broker/common/status_macros.h"

namespace hart::sqlite {

bool IsStorageFailure(const absl::Status& status) {
  const std::optional<int> rc = SqliteCodeOf(status);
  if (!rc) return false;
  const int primary = *rc & 0xff;
  return primary == SQLITE_IOERR || primary == SQLITE_FULL;
}

absl::Status ClientStatusForStorageFailure(const absl::Status& cause) {
  const std::optional<int> rc = SqliteCodeOf(cause);
  if (rc && (*rc & 0xff) == SQLITE_FULL) {
    return WrittenForClient(absl::ResourceExhaustedError(
        "the broker's storage is full; nothing of this request was stored; retry later"));
  }
  return WrittenForClient(absl::UnavailableError(
      "the broker's storage failed to save data durably (a disk write or flush failed); "
      "nothing of this request was stored; retry later"));
}

absl::Status ProveDurable(SqliteDb& writer) {
  HART_ASSIGN_OR_RETURN(read, writer.Prepare("PRAGMA application_id"));
  HART_ASSIGN_OR_RETURN(row, read->Step());
  const int64_t id = row ? read->Int(0) : 0;
  read.Release();
  HART_RETURN_IF_ERROR(writer.Exec(absl::StrCat("PRAGMA application_id = ", id)));
  const int rc = sqlite3_wal_checkpoint_v2(writer.raw(), nullptr, SQLITE_CHECKPOINT_TRUNCATE,
                                           nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteError(writer.raw(), rc, "checkpoint");
  return absl::OkStatus();
}

}  // namespace hart::sqlite
