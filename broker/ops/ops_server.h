// The operations port: a small HTTPS/1.1 server (Boost.Beast over OpenSSL)
// that routes each request to the handler a component registered on its
// Router (handler API: ops_http.h). It serves health (/livez, /readyz),
// /metrics and the supervisors' dashboard from one port.
//
// Bounded: connections, request head and body size, one timeout per
// request (TLS handshake, reading it, the handler's answer, writing it; a
// stream's head and each of its writes), and the bytes a stream may have
// queued for a slow client.
//
// Thread safety: runs on its own I/O thread. Start, Stop and the destructor
// from one thread, never from a handler.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/ops/https_setup.h"
#include "broker/ops/router.h"

namespace hart::ops {

struct OpsServerSettings {
  // "IP:port"; port 0 picks a free one.
  std::string listen_address = "127.0.0.1:0";
  // The server's certificate and key; a client CA to request client
  // certificates from (and CRLs), or none.
  ServerTlsFiles tls;
  size_t max_connections = 64;
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 64 * 1024;
  absl::Duration request_timeout = absl::Seconds(10);
  // Bytes a stream may have queued for its client; beyond, it is closed.
  size_t max_stream_buffer_bytes = 1 << 20;
  // How long Stop waits for connections to end cleanly (answers sent,
  // streams' last chunks written) before it cuts them.
  absl::Duration stop_timeout = absl::Seconds(2);
};

class OpsServer {
 public:
  // Listens now and serves `router`'s handlers. Errors name the address or
  // the file (FAILED_PRECONDITION, INVALID_ARGUMENT, UNAVAILABLE).
  static absl::StatusOr<std::unique_ptr<OpsServer>> Start(OpsServerSettings settings,
                                                          Router router);
  // Stop().
  virtual ~OpsServer() = default;
  // The port bound.
  virtual int port() const = 0;
  // Stops accepting; requests still waiting for their handler are answered
  // 503; every stream ends (its queued data and last chunk sent, its
  // OnClose run); connections close (bounded by stop_timeout); the I/O
  // thread is joined. Answers and writes that come later are dropped.
  // Idempotent.
  virtual void Stop() = 0;
};

}  // namespace hart::ops
