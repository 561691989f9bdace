#include "broker/store/postgres/pg_pool.h"

#include "absl/strings/str_cat.h"

namespace hart::pg {

absl::StatusOr<std::unique_ptr<PgPool>> PgPool::Open(PgConnectOptions options, int size,
                                                     absl::Duration acquire_timeout) {
  if (size < 1) return absl::InvalidArgumentError("the connection pool needs at least 1 connection");
  std::unique_ptr<PgPool> pool(new PgPool(std::move(options), size, acquire_timeout));
  auto first = PgConn::Connect(pool->options_);
  if (!first.ok()) return first.status();
  absl::MutexLock lock(&pool->mu_);
  pool->idle_.push_back(std::move(*first));
  pool->open_ = 1;
  return pool;
}

absl::StatusOr<PgPool::Lease> PgPool::Acquire() {
  {
    absl::MutexLock lock(&mu_);
    auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || open_ < size_;
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&available), acquire_timeout_)) {
      return absl::UnavailableError(absl::StrCat(
          "postgres: all ", size_, " connections of the pool stayed busy for ",
          absl::FormatDuration(acquire_timeout_), " (store.postgres.pool_size)"));
    }
    // An idle connection the server closed meanwhile is dropped here, not
    // handed out to fail its caller's first statement.
    while (!idle_.empty()) {
      std::unique_ptr<PgConn> conn = std::move(idle_.back());
      idle_.pop_back();
      if (conn->StillAlive()) return Lease(*this, std::move(conn));
      --open_;
    }
    ++open_;  // reserve the slot; connect outside the lock
  }
  auto conn = PgConn::Connect(options_);
  if (!conn.ok()) {
    absl::MutexLock lock(&mu_);
    --open_;
    return conn.status();
  }
  return Lease(*this, std::move(*conn));
}

void PgPool::Release(std::unique_ptr<PgConn> conn) {
  // A connection returned inside a transaction (a caller bailed out early)
  // or broken is not reused: closing it rolls the transaction back.
  const bool reusable = !conn->broken() && !conn->in_transaction();
  if (!reusable) conn.reset();
  absl::MutexLock lock(&mu_);
  if (reusable) {
    idle_.push_back(std::move(conn));
  } else {
    --open_;
  }
}

}  // namespace hart::pg
