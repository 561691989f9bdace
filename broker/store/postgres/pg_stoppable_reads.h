// Reads a stop may end while they run: the operators' snapshot, which
// counts a backlog of millions in seconds, and which a stopping broker
// must not wait for past its drain timeout. Stop answers every later
// Begin with the stopped status and asks the server to cancel the
// statement each registered connection is running (libpq's PQcancel).
// A connection that was sent a cancel is closed when its registration
// ends, never pooled again: the server delivers a cancel on its own
// schedule, and one that arrived after the read ended would cancel the
// next holder's statement instead, a write among them.
//
// A cancel that reaches a connection between two statements is ignored
// by the server: a reader checks stopped() before each long statement, so
// what is left is a stop landing between a check and the statement's
// start, bounded by the statement timeout. A registered "read" may write
// in a transaction of its own (the snapshot folds its counters first):
// cancelled, it rolls back whole.
//
// Thread safety: every member may be called from any thread.
#pragma once

#include <libpq-fe.h>

#include <map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/store/postgres/pg_conn.h"

namespace hart::pg {

class StoppableReads {
 public:
  // While it lives, a Stop cancels what its connection runs. The
  // connection must outlive it (declare it after the pool's lease).
  class Registration {
   public:
    Registration(StoppableReads& owner, PgConn& conn) : owner_(&owner), conn_(&conn) {}
    Registration(Registration&& other) noexcept
        : owner_(std::exchange(other.owner_, nullptr)), conn_(other.conn_) {}
    Registration& operator=(Registration&&) = delete;
    ~Registration() {
      if (owner_ != nullptr) owner_->End(*conn_);
    }

   private:
    StoppableReads* owner_;
    PgConn* conn_;
  };

  // `stopped`: what Begin answers once stopped.
  explicit StoppableReads(absl::Status stopped) : stopped_status_(std::move(stopped)) {}
  StoppableReads(const StoppableReads&) = delete;
  StoppableReads& operator=(const StoppableReads&) = delete;
  // Every Registration has ended before.
  ~StoppableReads() = default;

  // The stopped status once Stop was called; else `conn`'s registration.
  // UNAVAILABLE if libpq cannot make the connection's cancel request.
  absl::StatusOr<Registration> Begin(PgConn& conn);
  // For good: later Begins answer the stopped status; each registered
  // connection's statement is cancelled.
  void Stop();
  bool stopped() const;

 private:
  struct Running {
    PGcancel* cancel;
    bool cancel_sent = false;  // the cancel is then Stop's to free
  };
  void End(PgConn& conn);

  const absl::Status stopped_status_;
  mutable absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::map<PgConn*, Running> running_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hart::pg
