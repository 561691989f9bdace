#include "broker/cli/cli_audit_store.h"

#include <sqlite3.h>

#include "absl/strings/str_cat.h"
#include "broker/common/time_util.h"

namespace hart::cli {
namespace v1 = hart::referral::v1;

namespace {

struct Db {
  sqlite3* db = nullptr;
  ~Db() { sqlite3_close_v2(db); }
};
struct Stmt {
  sqlite3_stmt* stmt = nullptr;
  ~Stmt() { sqlite3_finalize(stmt); }
};

std::string Column(sqlite3_stmt* s, int col) {
  const void* p = sqlite3_column_blob(s, col);
  return p ? std::string(static_cast<const char*>(p), sqlite3_column_bytes(s, col)) : "";
}

}  // namespace

absl::StatusOr<audit::LogToVerify> ReadAuditLogFromDataDir(const std::string& data_dir) {
  const std::string path = data_dir + "/hart.db";
  Db db;
  if (sqlite3_open_v2(path.c_str(), &db.db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    return absl::NotFoundError(absl::StrCat("cannot open ", path, " read-only"));
  }
  audit::LogToVerify log;
  {
    Stmt s;
    if (sqlite3_prepare_v2(db.db,
                           "SELECT idx, at, actor, action, referral_id, delivery_id, "
                           "payload_sha256, detail, leaf_hash FROM audit_events ORDER BY idx",
                           -1, &s.stmt, nullptr) != SQLITE_OK) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, ": no audit log here (", sqlite3_errmsg(db.db), ")"));
    }
    while (sqlite3_step(s.stmt) == SQLITE_ROW) {
      v1::AuditEvent event;
      auto* e = event.mutable_entry();
      // Stored rows are 1-based; a gap or swap shows up as a wrong index.
      e->set_index(static_cast<uint64_t>(sqlite3_column_int64(s.stmt, 0) - 1));
      e->set_at_micros(sqlite3_column_int64(s.stmt, 1));
      e->set_actor(Column(s.stmt, 2));
      e->set_action(Column(s.stmt, 3));
      e->set_referral_id(Column(s.stmt, 4));
      e->set_delivery_id(Column(s.stmt, 5));
      e->set_payload_sha256(Column(s.stmt, 6));
      e->set_detail(Column(s.stmt, 7));
      event.set_leaf_hash(Column(s.stmt, 8));
      log.events.push_back(std::move(event));
    }
  }
  {
    Stmt s;
    if (sqlite3_prepare_v2(db.db,
                           "SELECT tree_size, root_hash, at, key_id, signature, signed_note "
                           "FROM audit_checkpoints ORDER BY tree_size",
                           -1, &s.stmt, nullptr) == SQLITE_OK) {
      while (sqlite3_step(s.stmt) == SQLITE_ROW) {
        v1::Checkpoint c;
        c.set_tree_size(static_cast<uint64_t>(sqlite3_column_int64(s.stmt, 0)));
        c.set_root_hash(Column(s.stmt, 1));
        *c.mutable_timestamp() =
            ToProtoTime(absl::FromUnixMicros(sqlite3_column_int64(s.stmt, 2)));
        c.set_key_id(Column(s.stmt, 3));
        c.set_signature(Column(s.stmt, 4));
        c.set_signed_note(Column(s.stmt, 5));
        log.checkpoints.push_back(std::move(c));
      }
    }
  }
  {
    Stmt s;
    if (sqlite3_prepare_v2(db.db, "SELECT size FROM audit_tree WHERE id = 1", -1, &s.stmt,
                           nullptr) == SQLITE_OK &&
        sqlite3_step(s.stmt) == SQLITE_ROW) {
      log.recorded_tree_size = static_cast<uint64_t>(sqlite3_column_int64(s.stmt, 0));
    }
  }
  return log;
}

}  // namespace hart::cli
