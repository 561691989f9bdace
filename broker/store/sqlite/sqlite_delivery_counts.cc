// The pre-update hook's declarations are compiled only with this defined;
// the library itself must have been built with it (Prepare checks).
#define SQLITE_ENABLE_PREUPDATE_HOOK 1
#include <sqlite3.h>

#include "broker/store/sqlite/sqlite_delivery_counts.h"

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "broker/common/status_macros.h"

namespace hart::sqlite {
namespace {

// A row stored before `kind` existed has no value for it: its default.
constexpr int64_t kDefaultKind = 1;

}  // namespace

absl::Status TransactionDeliveryCounts::Prepare(SqliteDb& db) {
  if (!sqlite3_compileoption_used("ENABLE_PREUPDATE_HOOK")) {
    return absl::FailedPreconditionError(
        "this SQLite library was built without SQLITE_ENABLE_PREUPDATE_HOOK, which the "
        "broker's delivery counts need; install Debian 12's libsqlite3-0");
  }
  HART_ASSIGN_OR_RETURN(columns, db.Prepare("SELECT cid, name FROM pragma_table_info('deliveries')"));
  for (;;) {
    HART_ASSIGN_OR_RETURN(row, columns->Step());
    if (!row) break;
    const std::string name = columns->Text(1);
    const int cid = static_cast<int>(columns->Int(0));
    if (name == "state") state_column_ = cid;
    if (name == "agency_kind") agency_kind_column_ = cid;
    if (name == "kind") kind_column_ = cid;
  }
  if (state_column_ < 0 || agency_kind_column_ < 0 || kind_column_ < 0) {
    return absl::InternalError("the deliveries table lacks state, agency_kind or kind");
  }
  return absl::OkStatus();
}

void TransactionDeliveryCounts::Begin(SqliteDb& db) {
  changes_.clear();
  sqlite3_preupdate_hook(db.raw(), &TransactionDeliveryCounts::OnRowChange, this);
}

void TransactionDeliveryCounts::End(SqliteDb& db) {
  sqlite3_preupdate_hook(db.raw(), nullptr, nullptr);
  changes_.clear();
}

absl::Status TransactionDeliveryCounts::Save(SqliteDb& db) {
  for (const auto& [key, change] : changes_) {
    if (change == 0) continue;
    HART_ASSIGN_OR_RETURN(write, db.Prepare(
        "INSERT INTO delivery_counts (state, agency_kind, kind, n) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (state, agency_kind, kind) DO UPDATE SET n = n + excluded.n"));
    write->Bind(1, std::get<0>(key)).Bind(2, std::get<1>(key)).Bind(3, std::get<2>(key))
        .Bind(4, change);
    HART_RETURN_IF_ERROR(write->Run());
  }
  return absl::OkStatus();
}

TransactionDeliveryCounts::Key TransactionDeliveryCounts::RowKey(sqlite3* db,
                                                                 bool old_row) const {
  auto value = [&](int column) -> sqlite3_value* {
    sqlite3_value* v = nullptr;
    const int rc = old_row ? sqlite3_preupdate_old(db, column, &v)
                           : sqlite3_preupdate_new(db, column, &v);
    return rc == SQLITE_OK ? v : nullptr;
  };
  sqlite3_value* kind = value(kind_column_);
  return {sqlite3_value_int64(value(state_column_)),
          sqlite3_value_int64(value(agency_kind_column_)),
          kind == nullptr || sqlite3_value_type(kind) == SQLITE_NULL ? kDefaultKind
                                                                     : sqlite3_value_int64(kind)};
}

void TransactionDeliveryCounts::OnRowChange(void* self, sqlite3* db, int op, const char* schema,
                                            const char* table, sqlite3_int64, sqlite3_int64) {
  if (std::strcmp(table, "deliveries") != 0 || std::strcmp(schema, "main") != 0) return;
  auto* counts = static_cast<TransactionDeliveryCounts*>(self);
  if (op == SQLITE_INSERT) {
    ++counts->changes_[counts->RowKey(db, /*old_row=*/false)];
  } else if (op == SQLITE_DELETE) {
    --counts->changes_[counts->RowKey(db, /*old_row=*/true)];
  } else if (op == SQLITE_UPDATE) {
    const Key before = counts->RowKey(db, /*old_row=*/true);
    const Key after = counts->RowKey(db, /*old_row=*/false);
    if (before == after) return;
    --counts->changes_[before];
    ++counts->changes_[after];
  }
}

}  // namespace hart::sqlite
