#include "broker/store/sqlite/sqlite_backend.h"

#include "broker/store/sqlite/sqlite_migrations.h"

namespace hart {

SqliteBackend::SqliteBackend(SqliteBackendOptions options,
                             std::unique_ptr<sqlite::SqliteConnections> db,
                             audit::CompactRange tree,
                             sqlite::TransactionDeliveryCounts counts)
    : options_(std::move(options)),
      db_(std::move(db)),
      tree_(std::move(tree)),
      delivery_counts_(std::move(counts)) {}

SqliteBackend::~SqliteBackend() = default;

absl::StatusOr<std::unique_ptr<SqliteBackend>> SqliteBackend::Open(SqliteBackendOptions options) {
  if (options.broker_id.empty()) {
    return absl::InvalidArgumentError("the SQLite backend needs a broker id");
  }
  auto db = sqlite::SqliteConnections::Open(options.data_dir);
  if (!db.ok()) return db.status();
  absl::StatusOr<audit::CompactRange> tree;
  sqlite::TransactionDeliveryCounts counts;
  {
    absl::MutexLock lock(&(*db)->write_mu());
    tree = sqlite::LoadOrRebuildAuditTree((*db)->writer());
    if (auto s = counts.Prepare((*db)->writer()); !s.ok()) return s;
  }
  if (!tree.ok()) return tree.status();
  return std::unique_ptr<SqliteBackend>(new SqliteBackend(
      std::move(options), std::move(*db), std::move(*tree), std::move(counts)));
}

}  // namespace hart
