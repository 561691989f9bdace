// Internals of OpsServer: what the connections share (ServerCore) and one
// connection (Session): TLS handshake, then requests until the client
// closes, a timeout, an error, a stream's end or the server's stop. Each
// session runs on its own strand; handles reach it only by posting there
// (ops_exchange.h).
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/ssl.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/strand.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "boost/beast/ssl.hpp"
#include "broker/ops/ops_exchange.h"
#include "broker/ops/ops_server.h"

namespace hart::ops::internal {

using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

// What every session of one server uses. Sessions are counted and listed
// (as raw pointers, under a lock) so that the server can stop them.
class ServerCore {
 public:
  ServerCore(OpsServerSettings settings, Router router)
      : settings_(std::move(settings)),
        router_(std::move(router)),
        tls_(boost::asio::ssl::context::tls_server) {}

  const OpsServerSettings& settings() const { return settings_; }
  const Router& router() const { return router_; }
  boost::asio::ssl::context& tls() { return tls_; }
  boost::asio::io_context& io() { return io_; }
  const std::shared_ptr<Lifeline>& lifeline() const { return lifeline_; }

  // A connection may open (false beyond max_connections); every admitted
  // one is released by its session's destructor, or by the caller if no
  // session was made.
  bool Admit();
  void Release();
  // Waits (bounded) until no connection is open.
  bool WaitUntilNoConnections(absl::Duration bound);

  void Register(Session* session);
  void Unregister(Session* session);
  // Posts Stop to every session's strand.
  void StopSessions();

  // Streams are listed too: the server ends any left open when it stops.
  void TrackStream(const std::shared_ptr<StreamState>& stream);
  void EndStreams();

 private:
  const OpsServerSettings settings_;
  const Router router_;
  // Declared before the loop and the TLS context: sessions the loop
  // destroys touch them.
  absl::Mutex mu_;
  size_t connections_ ABSL_GUARDED_BY(mu_) = 0;
  std::set<Session*> sessions_ ABSL_GUARDED_BY(mu_);
  std::vector<std::weak_ptr<StreamState>> streams_ ABSL_GUARDED_BY(mu_);
  boost::asio::ssl::context tls_;
  boost::asio::io_context io_;
  const std::shared_ptr<Lifeline> lifeline_ = std::make_shared<Lifeline>(io_);
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  // `socket` was accepted on `strand`.
  Session(boost::asio::ip::tcp::socket socket, Strand strand, ServerCore& core);
  // Ends a stream still open and releases the connection.
  ~Session();
  void Start();
  const Strand& strand() const { return strand_; }

  // On the strand:
  void Stop();
  void Answer(OpsResponse response);
  void BeginStream(const OpsStreamHead& head, std::shared_ptr<StreamState> stream);
  void FlushStream();

 private:
  enum class State { kHandshake, kReading, kAwaiting, kResponding, kStreaming, kClosing };
  using Stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

  void OnHandshake(boost::beast::error_code ec);
  void ReadRequest();
  void OnRead(boost::beast::error_code ec);
  void Dispatch();
  void WaitForAnswer();
  void Send(OpsResponse response);
  void OnStreamHeadWritten(boost::beast::error_code ec);
  void WatchForHangUp();
  void OnChunkWritten(boost::beast::error_code ec);
  // The stream ended: cleanly (its last chunk sent) or not.
  void EndStream(bool clean);
  // TLS close_notify (bounded), then the socket closes.
  void Shutdown();
  void Abort();
  void Expire();  // the per-request timeout for the next operation

  Strand strand_;
  Stream stream_;
  ServerCore& core_;
  State state_ = State::kHandshake;
  bool stopping_ = false;
  bool keep_alive_ = false;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  boost::beast::http::response<boost::beast::http::string_body> response_;
  std::optional<PeerCertificate> peer_;
  boost::asio::steady_timer answer_timer_;
  std::weak_ptr<Exchange> exchange_;
  // A streaming response: its head, the chunk being written, whether a
  // write or the hang-up read is in flight.
  std::shared_ptr<StreamState> stream_state_;
  boost::beast::http::response<boost::beast::http::empty_body> stream_head_;
  std::optional<boost::beast::http::response_serializer<boost::beast::http::empty_body>>
      head_serializer_;
  std::string chunk_;
  bool writing_ = false;
  bool reading_ = false;
  bool last_chunk_sent_ = false;
  std::array<char, 256> hang_up_buffer_{};
};

}  // namespace hart::ops::internal
