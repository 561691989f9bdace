// A fixed-size pool of libpq connections to one database. A connection is
// borrowed for one call or one transaction and returned when the Lease dies;
// a broken one (server restart, pg_terminate_backend, network) is dropped
// on return and replaced by a new connection on a later Acquire, so the
// broker reconnects by itself and answers UNAVAILABLE meanwhile.
//
// Thread safety: Acquire may be called from any thread.
#pragma once

#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/store/postgres/pg_conn.h"

namespace hart::pg {

class PgPool {
 public:
  // Connects the first connection now (so bad settings fail at start);
  // the others as they are needed, up to `size`.
  static absl::StatusOr<std::unique_ptr<PgPool>> Open(PgConnectOptions options, int size,
                                                      absl::Duration acquire_timeout);

  class Lease {
   public:
    Lease(PgPool& owner, std::unique_ptr<PgConn> conn) : owner_(&owner), conn_(std::move(conn)) {}
    Lease(Lease&& other) noexcept = default;
    ~Lease() {
      if (conn_) owner_->Release(std::move(conn_));
    }
    PgConn& conn() { return *conn_; }

   private:
    PgPool* owner_;
    std::unique_ptr<PgConn> conn_;
  };

  // A connection for one call; UNAVAILABLE if none is free within the
  // acquire timeout or a new one cannot connect.
  absl::StatusOr<Lease> Acquire();

 private:
  PgPool(PgConnectOptions options, int size, absl::Duration acquire_timeout)
      : options_(std::move(options)), size_(size), acquire_timeout_(acquire_timeout) {}
  void Release(std::unique_ptr<PgConn> conn);

  const PgConnectOptions options_;
  const int size_;
  const absl::Duration acquire_timeout_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<PgConn>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;  // idle + lent
};

}  // namespace hart::pg
