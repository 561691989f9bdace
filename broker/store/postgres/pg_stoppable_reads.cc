#include "broker/store/postgres/pg_stoppable_reads.h"

#include <string>
#include <vector>

#include "broker/common/logging.h"

namespace hart::pg {

absl::StatusOr<StoppableReads::Registration> StoppableReads::Begin(PgConn& conn) {
  PGcancel* cancel = PQgetCancel(conn.raw());
  if (cancel == nullptr) {
    return absl::UnavailableError(
        "postgres: libpq could not make a cancel request for the connection");
  }
  absl::MutexLock lock(&mu_);
  if (stopped_) {
    PQfreeCancel(cancel);
    return stopped_status_;
  }
  running_[&conn] = Running{cancel};
  return Registration(*this, conn);
}

void StoppableReads::Stop() {
  std::vector<PGcancel*> to_send;
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
    for (auto& [conn, running] : running_) {
      if (running.cancel_sent) continue;
      running.cancel_sent = true;
      to_send.push_back(running.cancel);
    }
  }
  // Outside the lock: PQcancel connects to the server and waits for it to
  // take the request, and a read must not wait on that to end. A read that
  // ends meanwhile has its connection closed (cancel_sent), so a late
  // cancel finds no statement of anyone's. A PGcancel is a copy of what it
  // needs: it outlives its connection. A failed send leaves the read to
  // its statement timeout.
  for (PGcancel* cancel : to_send) {
    char error[256] = "";
    if (PQcancel(cancel, error, sizeof error) != 1) {
      std::string reason(error);
      while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) reason.pop_back();
      // libpq's reason names the host and the step (connect, send), no value.
      Logger("store")->warn("event=read_cancel_failed reason=\"{}\"", reason);
    }
    PQfreeCancel(cancel);
  }
}

bool StoppableReads::stopped() const {
  absl::MutexLock lock(&mu_);
  return stopped_;
}

void StoppableReads::End(PgConn& conn) {
  absl::MutexLock lock(&mu_);
  auto it = running_.find(&conn);
  if (it == running_.end()) return;
  if (it->second.cancel_sent) {
    conn.Retire();
  } else {
    PQfreeCancel(it->second.cancel);
  }
  running_.erase(it);
}

}  // namespace hart::pg
