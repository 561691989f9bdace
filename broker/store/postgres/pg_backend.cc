#include "broker/store/postgres/pg_backend.h"

#include "broker/store/postgres/pg_schema.h"

namespace hart {

PostgresBackend::PostgresBackend(PostgresBackendOptions options, std::unique_ptr<pg::PgPool> pool)
    : options_(std::move(options)), pool_(std::move(pool)) {}

PostgresBackend::~PostgresBackend() = default;

absl::StatusOr<std::unique_ptr<PostgresBackend>> PostgresBackend::Open(
    PostgresBackendOptions options) {
  if (options.broker_id.empty()) {
    return absl::InvalidArgumentError("the PostgreSQL backend needs a broker id (store.broker_id)");
  }
  auto pool = pg::PgPool::Open(options.connect, options.pool_size, options.acquire_timeout);
  if (!pool.ok()) return pool.status();
  {
    auto lease = (*pool)->Acquire();
    if (!lease.ok()) return lease.status();
    if (auto s = pg::ApplySchema(lease->conn()); !s.ok()) return s;
  }
  return std::unique_ptr<PostgresBackend>(
      new PostgresBackend(std::move(options), std::move(*pool)));
}

absl::StatusOr<bool> PostgresBackend::TryLead(absl::Time now, absl::Time until) {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  // One statement: the row lock makes concurrent tries take turns, and each
  // sees the other's committed owner.
  auto taken = lease->conn().Query(
      "UPDATE cluster_leader SET owner = $1, lease_until = $3 "
      "WHERE id = 1 AND (owner = $1 OR lease_until <= $2)",
      pg::PgParams().Text(options_.broker_id).Micros(now).Micros(until));
  if (!taken.ok()) return taken.status();
  return taken->affected() == 1;
}

// Nothing was ever stored in the clear here (PostgreSQL came after
// encryption at rest).
absl::Status PostgresBackend::SealLegacyIntakes(LegacyIntakeSealer&) { return absl::OkStatus(); }

}  // namespace hart
