// A real SMTP server on loopback for adapter tests: greeting, EHLO,
// STARTTLS with its certificate, AUTH PLAIN/LOGIN, MAIL/RCPT/DATA with
// dot-unstuffing, RSET, NOOP, QUIT. Like a careful submission server it
// refuses MAIL before STARTTLS (530) and, with credentials configured,
// before AUTH (530). It records every accepted message and the verb of
// every command, and fails on request: a given reply code for the next N
// commands of a kind, a greeting held back, no STARTTLS advertised.
//
// Thread safety: every method may be called from any thread; sessions run
// on the server's own I/O thread. The destructor closes everything and
// joins that thread without waiting for clients.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace hart::testing {

struct SmtpTestServerOptions {
  // The loopback address to listen on (port 0: a free one).
  std::string listen_address = "127.0.0.1";
  // PEM certificate and key presented after STARTTLS.
  std::string cert_file;
  std::string key_file;
  // False: EHLO does not advertise STARTTLS and STARTTLS is refused (502).
  bool offer_starttls = true;
  // When set, EHLO after STARTTLS advertises "AUTH <auth_mechanisms>" and
  // MAIL needs a successful AUTH first.
  std::string username;
  std::string password;
  std::string auth_mechanisms = "PLAIN LOGIN";
  // Each session waits this long before its 220 greeting.
  absl::Duration greeting_delay = absl::ZeroDuration();
};

// One message the server accepted (250 after DATA).
struct ReceivedMail {
  std::string ehlo_name;  // from the last EHLO
  std::string mail_from;  // without angle brackets
  std::vector<std::string> rcpt_to;
  // Headers and body as the client sent them, dot-unstuffed, CRLF line
  // breaks, without the terminating ".".
  std::string data;
  bool tls = false;
  std::string authenticated_as;  // empty: no AUTH
};

class SmtpTestServer {
 public:
  // Listens on listen_address, port 0; loads the certificate now.
  static absl::StatusOr<std::unique_ptr<SmtpTestServer>> Start(SmtpTestServerOptions options);
  ~SmtpTestServer();
  SmtpTestServer(const SmtpTestServer&) = delete;
  SmtpTestServer& operator=(const SmtpTestServer&) = delete;

  uint16_t port() const { return port_; }

  // Answers the next `times` commands whose verb is `verb` ("EHLO",
  // "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "RSET", "NOOP") with `code`
  // instead of handling them. "END_OF_DATA" fails the reply to the message
  // content instead (the message is then not recorded).
  void FailNext(const std::string& verb, int code, int times = 1);

  std::vector<ReceivedMail> messages() const;
  // True once at least `count` messages were accepted, false after `bound`.
  bool WaitForMessages(size_t count, absl::Duration bound) const;
  // Upper-cased verbs of every command received, in order (never their
  // arguments, which may hold credentials).
  std::vector<std::string> commands() const;
  // Connections accepted so far.
  size_t sessions() const;

 private:
  struct Impl;
  explicit SmtpTestServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

}  // namespace hart::testing
