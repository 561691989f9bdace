// Internals of OpsServer: the handles a handler answers through from any
// thread (Exchange behind Reply, StreamState behind OpsStream). They hold
// their connection (Session) only weakly and reach it only through the
// server's Lifeline, on the I/O thread: nothing is posted once the server
// has stopped, no connection is destroyed off the I/O thread by a handle,
// and a handle may outlive the server.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/io_context.hpp"
#include "broker/ops/ops_http.h"

namespace hart::ops::internal {

class Session;

// Whether the server's event loop still takes work, and the way to it.
// Handles keep only this (a mutex, a flag and the loop's plain executor,
// all harmless to destroy after the server), never a strand or a socket.
class Lifeline {
 public:
  explicit Lifeline(boost::asio::io_context& io) : io_(io.get_executor()) {}

  // Runs `work(session)` on `session`'s strand, or `gone()` on the loop if
  // the session no longer exists. False, and nothing runs, once the server
  // has stopped.
  bool Post(std::weak_ptr<Session> session,
            std::function<void(const std::shared_ptr<Session>&)> work,
            std::function<void()> gone = {});
  void End() {
    absl::MutexLock lock(&mu_);
    alive_ = false;
  }

 private:
  absl::Mutex mu_;
  bool alive_ ABSL_GUARDED_BY(mu_) = true;
  const boost::asio::io_context::executor_type io_;
};

// Where a handle's posts go: its connection, through the lifeline.
struct SessionLink {
  std::shared_ptr<Lifeline> lifeline;
  std::weak_ptr<Session> session;
};

class StreamState final : public OpsStream {
 public:
  StreamState(SessionLink link, size_t max_buffer_bytes)
      : link_(std::move(link)), max_buffer_bytes_(max_buffer_bytes) {}

  bool Write(std::string_view data) override;
  void Close() override;
  void OnClose(std::function<void()> on_close) override;
  bool closed() const override;

  // The session's side, on its strand.
  struct Pending {
    std::string data;    // to send now
    bool end = false;    // then the last chunk
    bool abort = false;  // cut the connection (the client was too slow)
  };
  Pending Take();
  // The server ends the stream: cleanly after what is queued (`clean`), or
  // because the connection is gone. Runs OnClose's callback if not yet run.
  void EndFromServer(bool clean);

 private:
  // Closes it for writers; returns the callback to run outside the lock.
  std::function<void()> CloseLocked(bool end, bool abort) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PostFlushLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const SessionLink link_;
  const size_t max_buffer_bytes_;
  mutable absl::Mutex mu_;
  std::string pending_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool end_ ABSL_GUARDED_BY(mu_) = false;
  bool abort_ ABSL_GUARDED_BY(mu_) = false;
  bool flush_posted_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void()> on_close_ ABSL_GUARDED_BY(mu_);
};

// One request's answer, claimed once by whoever answers first: the handler
// (through Reply) or the session (timeout, stop).
class Exchange {
 public:
  Exchange(SessionLink link, size_t max_stream_buffer_bytes,
           std::function<void(const std::shared_ptr<StreamState>&)> track_stream)
      : link_(std::move(link)),
        max_stream_buffer_bytes_(max_stream_buffer_bytes),
        track_stream_(std::move(track_stream)) {}
  // Unanswered (every Reply dropped): answers 500.
  ~Exchange();

  void Respond(OpsResponse response);
  std::shared_ptr<OpsStream> OpenStream(OpsStreamHead head);
  // True for the first caller only: it answers.
  bool Claim() { return !answered_.exchange(true); }

 private:
  void PostAnswer(OpsResponse response);

  const SessionLink link_;
  const size_t max_stream_buffer_bytes_;
  const std::function<void(const std::shared_ptr<StreamState>&)> track_stream_;
  std::atomic<bool> answered_{false};
};

}  // namespace hart::ops::internal
