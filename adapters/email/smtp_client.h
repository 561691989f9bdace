// Sends one message per call to one SMTP submission server, on the shared
// AdapterIo event loop: greeting, EHLO, STARTTLS (required: nothing is sent
// in clear after EHLO), TLS with the server certificate verified against
// the CA and the host name or IP, EHLO again, AUTH PLAIN or LOGIN when
// configured, MAIL FROM, RCPT TO each, DATA, QUIT. One deadline bounds the
// whole session; `done` runs as soon as the server accepted the message
// (QUIT follows on its own).
//
// Outcomes (messages name the server, the step and the reply code; never
// message content or the password):
//  - OK: the server accepted the message (250 after the content).
//  - UNAVAILABLE: resolve/connect/TLS/IO failure, a 4xx reply, a malformed
//    reply: try again later.
//  - DEADLINE_EXCEEDED: the deadline passed (the message says during which step).
//  - FAILED_PRECONDITION: a 5xx reply (e.g. "RCPT TO <a@b> rejected: 550 ..."),
//    no STARTTLS offered, no usable AUTH mechanism, 535 wrong credentials
//    (naming the password file), the password file unreadable.
//  - INVALID_ARGUMENT: a 5xx reply to the content itself (after DATA).
//
// Thread safety: Send may be called from any thread, concurrently; `done`
// runs exactly once on an AdapterIo thread (unless the AdapterIo is
// destroyed first, which drops sessions in flight).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/common/adapter_io.h"

namespace hart::adapters::email {

struct SmtpServerOptions {
  std::string host;
  uint16_t port = 587;
  // PEM CA file; empty: the system trust store.
  std::string ca_file;
  std::string helo_name = "hart-broker";
  // Both or neither. The password file is read for every message.
  std::string username;
  std::string password_file;
};

struct SmtpEnvelope {
  std::string from;
  std::vector<std::string> recipients;
  // Headers and body; line breaks are sent as CRLF and dots are stuffed.
  std::string content;
};

using SmtpDone = std::function<void(absl::Status)>;

class SmtpClient {
 public:
  // Loads the CA file now (the error names it).
  static absl::StatusOr<std::unique_ptr<SmtpClient>> Create(AdapterIo& io,
                                                            SmtpServerOptions options);
  virtual ~SmtpClient() = default;
  virtual void Send(SmtpEnvelope envelope, absl::Duration timeout, SmtpDone done) = 0;
};

}  // namespace hart::adapters::email
