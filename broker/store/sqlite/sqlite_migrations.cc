#include "broker/store/sqlite/sqlite_migrations.h"

#include <utility>
#include <vector>

#include "broker/common/status_macros.h"
#include "broker/store/sqlite/sqlite_audit_rows.h"
#include "broker/store/sqlite/sqlite_read_sql.h"
#include "broker/store/sqlite/sqlite_transaction.h"

namespace hart {
namespace sqlite {

absl::StatusOr<audit::CompactRange> LoadOrRebuildAuditTree(SqliteDb& db) {
  HART_ASSIGN_OR_RETURN(stored, LoadTreeState(db));
  if (stored) return std::move(*stored);
  HART_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  auto rebuilt = [&]() -> absl::StatusOr<audit::CompactRange> {
    HART_ASSIGN_OR_RETURN(events, db.Prepare(
        "SELECT idx, at, actor, action, referral_id, delivery_id, payload_sha256, detail "
        "FROM audit_events ORDER BY idx"));
    HART_ASSIGN_OR_RETURN(existing, CollectRows(*events, [](const Statement& s) {
      return AuditEvent{absl::FromUnixMicros(s.Int(1)), s.Text(2), s.Text(3), s.Text(4),
                        s.Text(5), s.Text(6), s.Text(7), static_cast<uint64_t>(s.Int(0) - 1),
                        ""};
    }));
    events.Release();
    HART_RETURN_IF_ERROR(db.Exec("DELETE FROM audit_events"));
    audit::AuditTreeWriter writer{audit::CompactRange()};
    SqliteAuditRows rows(db);
    writer.Begin();
    for (const auto& e : existing) HART_RETURN_IF_ERROR(writer.Append(rows, e).status());
    HART_RETURN_IF_ERROR(rows.SaveTreeState(0, audit::CompactRange().Serialize()));
    HART_RETURN_IF_ERROR(writer.SaveIfGrown(rows));
    writer.Committed();
    audit::CompactRange tree;
    HART_ASSIGN_OR_RETURN(saved, LoadTreeState(db));
    if (saved) tree = std::move(*saved);
    return tree;
  }();
  if (!rebuilt.ok()) {
    (void)db.Exec("ROLLBACK");
    return rebuilt.status();
  }
  HART_RETURN_IF_ERROR(db.Exec("COMMIT"));
  return rebuilt;
}

}  // namespace sqlite

using sqlite::SqliteDb;

absl::Status SqliteBackend::SealLegacyIntakes(LegacyIntakeSealer& sealer) {
  std::vector<std::pair<std::string, std::string>> rows;
  {
    HART_ASSIGN_OR_RETURN(reader, db_->AcquireReader());
    HART_ASSIGN_OR_RETURN(legacy, reader.db().Prepare(sqlite::read_sql::LegacyIntakes()));
    HART_ASSIGN_OR_RETURN(found, sqlite::CollectRows(*legacy, [](const sqlite::Statement& s) {
      return std::make_pair(s.Text(0), s.Text(1));
    }));
    rows = std::move(found);
  }
  if (rows.empty()) return absl::OkStatus();
  return InWriteTransaction([&](SqliteDb& db) -> absl::Status {
    for (const auto& [referral_id, plaintext] : rows) {
      HART_ASSIGN_OR_RETURN(sealed, sealer.Seal(referral_id, plaintext));
      const auto& [key, ciphertext] = sealed;
      HART_ASSIGN_OR_RETURN(insert, db.Prepare(
          "INSERT INTO referral_keys (referral_id, key_id, wrapped) VALUES (?, ?, ?)"));
      insert->Bind(1, referral_id).Bind(2, key.key_id).BindBlob(3, key.wrapped);
      HART_RETURN_IF_ERROR(insert->Run());
      HART_ASSIGN_OR_RETURN(update, db.Prepare(
          "UPDATE referrals SET intake = ? WHERE referral_id = ?"));
      update->BindBlob(1, ciphertext).Bind(2, referral_id);
      HART_RETURN_IF_ERROR(update->Run());
      HART_ASSIGN_OR_RETURN(listed, db.Prepare(
          "DELETE FROM legacy_intakes WHERE referral_id = ?"));
      listed->Bind(1, referral_id);
      HART_RETURN_IF_ERROR(listed->Run());
    }
    return absl::OkStatus();
  });
}

}  // namespace hart
