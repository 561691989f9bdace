#include "broker/store/postgres/pg_listener.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "broker/common/logging.h"
#include "broker/store/postgres/pg_change_channels.h"

namespace hart::pg {
namespace {

const std::shared_ptr<spdlog::logger>& Log() {
  static const auto log = Logger("store");
  return log;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgListener>> PgListener::Start(PgConnectOptions options,
                                                              std::string broker_id,
                                                              ReplicaSignalHandlers handlers,
                                                              absl::Duration retry_interval) {
  const int stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot create the replica listener's eventfd: ", std::strerror(errno)));
  }
  return std::unique_ptr<PgListener>(new PgListener(std::move(options), std::move(broker_id),
                                                    std::move(handlers), retry_interval,
                                                    stop_fd));
}

PgListener::PgListener(PgConnectOptions options, std::string broker_id,
                       ReplicaSignalHandlers handlers, absl::Duration retry_interval,
                       int stop_fd)
    : options_(std::move(options)),
      broker_id_(std::move(broker_id)),
      handlers_(std::move(handlers)),
      retry_interval_(retry_interval),
      stop_fd_(stop_fd),
      thread_([this] { Run(); }) {}

PgListener::~PgListener() {
  const uint64_t one = 1;
  // An eventfd write of 1 cannot block or fail short of overflow.
  (void)!write(stop_fd_, &one, sizeof one);
  thread_.join();
  close(stop_fd_);
}

void PgListener::Run() {
  std::unique_ptr<PgConn> conn;
  while (true) {
    if (conn == nullptr) {
      conn = Listen();
      if (conn == nullptr) {
        if (WaitForStop(retry_interval_)) return;
        continue;
      }
      // Whatever was notified while nobody here listened is lost.
      EverythingMayHaveChanged();
    }
    pollfd fds[2] = {{PQsocket(conn->raw()), POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      Log()->error("event=replica_listener_poll_failed errno={}", errno);
      if (WaitForStop(retry_interval_)) return;
      continue;
    }
    if (fds[1].revents != 0) return;
    if (!Drain(*conn)) {
      Log()->warn("event=replica_listener_disconnected");
      conn.reset();  // reconnect at once; the retry interval applies if that fails
    }
  }
}

std::unique_ptr<PgConn> PgListener::Listen() {
  auto conn = PgConn::Connect(options_);
  absl::Status status = conn.ok() ? absl::OkStatus() : conn.status();
  if (status.ok()) {
    status = (*conn)->Exec(absl::StrCat("LISTEN ", kFeedsChannel, "; LISTEN ", kWorkChannel,
                                        "; LISTEN ", kEscalationsChannel, "; LISTEN ",
                                        kSealsChannel));
  }
  if (!status.ok()) {
    // The code and libpq's reason (host, port, authentication): no data.
    if (!failing_) {
      Log()->warn("event=replica_listener_unavailable code={} reason=\"{}\"",
                  absl::StatusCodeToString(status.code()), std::string(status.message()));
    }
    failing_ = true;
    return nullptr;
  }
  if (failing_) Log()->info("event=replica_listener_recovered");
  failing_ = false;
  return std::move(*conn);
}

bool PgListener::Drain(PgConn& conn) {
  if (PQconsumeInput(conn.raw()) == 0 || PQstatus(conn.raw()) != CONNECTION_OK) return false;
  while (PGnotify* notify = PQnotifies(conn.raw())) {
    Deliver(notify->relname, notify->extra);
    PQfreemem(notify);
  }
  return true;
}

void PgListener::Deliver(const char* channel, const char* payload) {
  const ChangePayload change = ParseChangePayload(payload != nullptr ? payload : "");
  if (change.broker_id == broker_id_) return;  // announced locally at its commit
  const std::string_view name = channel;
  if (name == kFeedsChannel) {
    if (handlers_.feeds_grew) handlers_.feeds_grew(change.feeds);
  } else if (name == kWorkChannel) {
    if (handlers_.work_added) handlers_.work_added();
  } else if (name == kEscalationsChannel) {
    if (handlers_.escalated) handlers_.escalated();
  } else if (name == kSealsChannel) {
    if (handlers_.referrals_sealed) {
      handlers_.referrals_sealed(ParseSealedIds(payload != nullptr ? payload : ""));
    }
  }
}

void PgListener::EverythingMayHaveChanged() {
  // Seals first: what is held in memory goes before anyone is woken.
  if (handlers_.referrals_sealed) handlers_.referrals_sealed({});
  if (handlers_.feeds_grew) handlers_.feeds_grew({});
  if (handlers_.work_added) handlers_.work_added();
  if (handlers_.escalated) handlers_.escalated();
}

bool PgListener::WaitForStop(absl::Duration timeout) {
  pollfd fd{stop_fd_, POLLIN, 0};
  const int ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));
  return poll(&fd, 1, ms) > 0;
}

}  // namespace hart::pg
