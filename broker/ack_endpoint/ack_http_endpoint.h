// The broker's HTTPS ack endpoint: push partners (webhook, file drop,
// e-mail recipients) acknowledge a delivery by POSTing the ack token their
// message carried:
//
//   POST /v1/acks   Content-Type: application/json
//   {"deliveryId": "...", "ackToken": "v1....", "kind": "ACCEPTED", "note": "..."}
//
// 200 {"state": "ACCEPTED", "auditIndex": "42"}; errors are JSON
// {"error": {"code": "PERMISSION_DENIED", "message": "..."}} with 400 (bad
// request), 403 (token does not match), 404 (unknown delivery), 409 (state
// conflict), 413 (body too large), 429/503 (retry, with Retry-After).
//
// The token authenticates (no client certificate): it is an HMAC over the
// delivery id (AckTokens). Server TLS uses the broker's certificate.
// Refused tokens are audited. Bounded: body size, connections, and one
// timeout per request (slow clients are cut off).
//
// Thread safety: runs on its own I/O thread, which never waits on the store
// (reads run on the StoreExecutor); Start/stop from one thread.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/acks/ack_recorder.h"
#include "broker/acks/ack_token.h"
#include "broker/clock.h"
#include "broker/store.h"
#include "broker/store/store_executor.h"

namespace hart {

struct AckEndpointSettings {
  // "host:port"; port 0 picks a free one.
  std::string listen_address = "127.0.0.1:0";
  std::string cert_file;
  std::string key_file;
  size_t max_body_bytes = 16 * 1024;
  size_t max_connections = 256;
  // For one request: TLS handshake, reading it, answering.
  absl::Duration request_timeout = absl::Seconds(10);
};

class AckHttpEndpoint {
 public:
  // Listens now; errors name the address or the file.
  static absl::StatusOr<std::unique_ptr<AckHttpEndpoint>> Start(
      const AckEndpointSettings& settings, const AckTokens& tokens, AckRecorder& acks,
      Store& store, StoreExecutor& executor, const Clock& clock);
  virtual ~AckHttpEndpoint() = default;  // stops and joins
  virtual int port() const = 0;
};

}  // namespace hart
