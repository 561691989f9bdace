// Follows the other replicas' commits: a connection of its own LISTENs on
// the change channels (pg_change_channels.h) and hands each notification
// to the handlers, skipping this broker's own.
//
// A notification sent while the connection is down is lost, so after every
// (re)connection the handlers are called as if everything had changed.
// If the server is unreachable the listener retries every `retry_interval`
// and warns once per outage (code and libpq's reason only: host, port).
//
// Threads: one of its own, idle in poll() between notifications; handlers
// run on it. The destructor wakes and joins it.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "broker/replica_signals.h"
#include "broker/store/postgres/pg_conn.h"

namespace hart::pg {

class PgListener final : public ReplicaSignals {
 public:
  // Starts following at once; never fails on an unreachable server (it
  // keeps trying), only if the thread's wake-up descriptor cannot be made.
  static absl::StatusOr<std::unique_ptr<PgListener>> Start(
      PgConnectOptions options, std::string broker_id, ReplicaSignalHandlers handlers,
      absl::Duration retry_interval = absl::Seconds(1));
  ~PgListener() override;
  PgListener(const PgListener&) = delete;
  PgListener& operator=(const PgListener&) = delete;

 private:
  PgListener(PgConnectOptions options, std::string broker_id, ReplicaSignalHandlers handlers,
             absl::Duration retry_interval, int stop_fd);
  void Run();
  // Connects and LISTENs; null (after a warning) if that failed.
  std::unique_ptr<PgConn> Listen();
  // Reads what arrived; false if the connection broke.
  bool Drain(PgConn& conn);
  void Deliver(const char* channel, const char* payload);
  void EverythingMayHaveChanged();
  // Waits up to `timeout` for the stop signal; true if it came.
  bool WaitForStop(absl::Duration timeout);

  const PgConnectOptions options_;
  const std::string broker_id_;
  const ReplicaSignalHandlers handlers_;
  const absl::Duration retry_interval_;
  const int stop_fd_;  // an eventfd the destructor signals
  bool failing_ = false;  // the listener thread's only
  std::thread thread_;
};

}  // namespace hart::pg
