// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include "adapters/email/smtp_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <filesystem>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/common/secret_file.h"
#include "adapters/email/smtp_wire.h"
#include "boost/asio/co_spawn.hpp"
#include "boost/asio/connect.hpp"
#include "boost/asio/dispatch.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/read_until.hpp"
#include "boost/asio/redirect_error.hpp"
#include "boost/asio/ssl.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/strand.hpp"
#include "boost/asio/use_awaitable.hpp"
#include "boost/asio/write.hpp"

namespace hart::adapters::email {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr size_t kMaxReplyLineBytes = 4096;
constexpr size_t kMaxReplyLines = 100;

// One SMTP conversation: owns its socket, timer and strand; kept alive by
// the coroutine and the timer that reference it.
class SmtpSession : public std::enable_shared_from_this<SmtpSession> {
 public:
  SmtpSession(asio::io_context& io, std::shared_ptr<ssl::context> tls,
              std::shared_ptr<const SmtpServerOptions> options, SmtpEnvelope envelope,
              absl::Duration timeout, SmtpDone done)
      : strand_(asio::make_strand(io)),
        tls_context_(std::move(tls)),
        options_(std::move(options)),
        envelope_(std::move(envelope)),
        timeout_(timeout),
        done_(std::move(done)),
        resolver_(strand_),
        stream_(tcp::socket(strand_), *tls_context_),
        deadline_(strand_),
        server_(absl::StrCat(options_->host, ":", options_->port)) {}

  void Start() {
    auto self = shared_from_this();
    asio::dispatch(strand_, [self] {
      self->deadline_.expires_after(absl::ToChronoNanoseconds(self->timeout_));
      self->deadline_.async_wait([self](error_code ec) {
        if (!ec) self->OnDeadline();
      });
      asio::co_spawn(
          self->strand_, [self]() { return self->Run(); },
          [self](std::exception_ptr failure) {
            if (failure) {
              self->Finish(absl::InternalError(
                  absl::StrCat("smtp ", self->server_, ": unexpected failure during ", self->step_)));
            }
          });
    });
  }

 private:
  asio::awaitable<void> Run() {
    absl::Status status = co_await Converse();
    Finish(std::move(status));  // no-op after success: done already ran
    deadline_.cancel();
    error_code ignored;
    stream_.next_layer().close(ignored);
  }

  asio::awaitable<absl::Status> Converse() {
    error_code ec;
    step_ = "resolve";
    const auto endpoints = co_await resolver_.async_resolve(
        options_->host, std::to_string(options_->port), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return IoFailure(ec);
    step_ = "connect";
    co_await asio::async_connect(stream_.next_layer(), endpoints,
                                 asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return IoFailure(ec);

    step_ = "greeting";
    auto greeting = co_await ReadReply();
    if (!greeting.ok()) co_return greeting.status();
    if (greeting->code != 220) co_return Refused("greeting", *greeting);

    auto ehlo = co_await Command(absl::StrCat("EHLO ", options_->helo_name), "EHLO");
    if (!ehlo.ok()) co_return ehlo.status();
    if (ehlo->code != 250) co_return Refused("EHLO", *ehlo);
    if (!ehlo->HasExtension("STARTTLS")) {
      co_return absl::FailedPreconditionError(absl::StrCat(
          "server ", options_->host, " does not offer STARTTLS; the email adapter never sends "
          "in clear: enable STARTTLS on ", server_, " or use another server"));
    }
    auto starttls = co_await Command("STARTTLS", "STARTTLS");
    if (!starttls.ok()) co_return starttls.status();
    if (starttls->code != 220) co_return Refused("STARTTLS", *starttls);
    if (!inbuf_.empty()) {
      // Bytes after the 220 were sent in clear and would be read as if
      // protected (CVE-2011-0411 style injection).
      co_return absl::UnavailableError(
          absl::StrCat("smtp ", server_, ": server sent data before the TLS handshake"));
    }
    if (auto s = co_await Handshake(); !s.ok()) co_return s;

    ehlo = co_await Command(absl::StrCat("EHLO ", options_->helo_name), "EHLO after STARTTLS");
    if (!ehlo.ok()) co_return ehlo.status();
    if (ehlo->code != 250) co_return Refused("EHLO after STARTTLS", *ehlo);
    if (!options_->username.empty()) {
      if (auto s = co_await Authenticate(*ehlo); !s.ok()) co_return s;
    }

    auto mail = co_await Command(absl::StrCat("MAIL FROM:<", envelope_.from, ">"), "MAIL FROM");
    if (!mail.ok()) co_return mail.status();
    if (mail->code != 250) co_return Refused(absl::StrCat("MAIL FROM <", envelope_.from, ">"), *mail);
    for (const auto& recipient : envelope_.recipients) {
      auto rcpt = co_await Command(absl::StrCat("RCPT TO:<", recipient, ">"), "RCPT TO");
      if (!rcpt.ok()) co_return rcpt.status();
      if (rcpt->code != 250 && rcpt->code != 251) {
        co_return Refused(absl::StrCat("RCPT TO <", recipient, ">"), *rcpt);
      }
    }
    auto data = co_await Command("DATA", "DATA");
    if (!data.ok()) co_return data.status();
    if (data->code != 354) co_return Refused("DATA", *data);
    step_ = "message content";
    if (auto s = co_await Write(DotStuff(envelope_.content)); !s.ok()) co_return s;
    auto accepted = co_await ReadReply();
    if (!accepted.ok()) co_return accepted.status();
    if (accepted->code != 250) {
      co_return Refused("message content", *accepted, absl::StatusCode::kInvalidArgument);
    }
    Finish(absl::OkStatus());

    // The message is the server's now; QUIT is a courtesy.
    (void)co_await Command("QUIT", "QUIT");
    co_return absl::OkStatus();
  }

  asio::awaitable<absl::Status> Handshake() {
    step_ = "TLS handshake";
    SSL* ssl = stream_.native_handle();
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    error_code not_ip;
    asio::ip::make_address(options_->host, not_ip);
    if (!not_ip) {
      X509_VERIFY_PARAM_set1_ip_asc(param, options_->host.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl, options_->host.c_str());
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      X509_VERIFY_PARAM_set1_host(param, options_->host.c_str(), 0);
    }
    stream_.set_verify_mode(ssl::verify_peer);
    error_code ec;
    co_await stream_.async_handshake(ssl::stream_base::client,
                                     asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) {
      tls_ = true;
      co_return absl::OkStatus();
    }
    if (timed_out_) co_return Timeout();
    const long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) {
      co_return absl::UnavailableError(absl::StrCat(
          "smtp ", server_, ": TLS handshake failed: certificate verification failed: ",
          X509_verify_cert_error_string(verify), " (trusting ",
          options_->ca_file.empty() ? std::string("the system trust store")
                                    : absl::StrCat("ca_file ", options_->ca_file),
          ", expecting ", options_->host, ")"));
    }
    co_return IoFailure(ec);
  }

  asio::awaitable<absl::Status> Authenticate(const SmtpReply& ehlo) {
    step_ = "AUTH";
    const std::vector<std::string> mechanisms = ehlo.ExtensionParams("AUTH");
    const auto offers = [&](std::string_view m) {
      return std::find(mechanisms.begin(), mechanisms.end(), m) != mechanisms.end();
    };
    if (!offers("PLAIN") && !offers("LOGIN")) {
      co_return absl::FailedPreconditionError(absl::StrCat(
          "smtp ", server_, ": username is set but the server offers no AUTH PLAIN or LOGIN "
          "after STARTTLS (offers: ",
          mechanisms.empty() ? std::string("none") : absl::StrJoin(mechanisms, " "), ")"));
    }
    auto password = ReadSecretFile(options_->password_file);
    if (!password.ok()) {
      co_return absl::FailedPreconditionError(
          absl::StrCat("smtp ", server_, ": password_file: ", password.status().message()));
    }
    absl::StatusOr<SmtpReply> reply;
    if (offers("PLAIN")) {
      std::string credentials = absl::StrCat(std::string(1, '\0'), options_->username,
                                             std::string(1, '\0'), *password);
      reply = co_await Command(absl::StrCat("AUTH PLAIN ", absl::Base64Escape(credentials)),
                               "AUTH PLAIN");
    } else {
      reply = co_await Command("AUTH LOGIN", "AUTH LOGIN");
      if (reply.ok() && reply->code == 334) {
        reply = co_await Command(absl::Base64Escape(options_->username), "AUTH LOGIN username");
      }
      if (reply.ok() && reply->code == 334) {
        reply = co_await Command(absl::Base64Escape(*password), "AUTH LOGIN password");
      }
    }
    if (!reply.ok()) co_return reply.status();
    if (reply->code == 235) co_return absl::OkStatus();
    if (reply->code == 535) {
      co_return absl::FailedPreconditionError(absl::StrCat(
          "smtp ", server_, ": authentication as '", options_->username,
          "' rejected: ", reply->Summary(), "; fix the password in password_file ",
          options_->password_file, " (or the username)"));
    }
    co_return Refused("AUTH", *reply);
  }

  // Sends `line` and reads the reply; `step` names it in errors (never the
  // line itself, which may carry credentials).
  asio::awaitable<absl::StatusOr<SmtpReply>> Command(std::string line, std::string step) {
    step_ = std::move(step);
    line.append("\r\n");
    if (auto s = co_await Write(std::move(line)); !s.ok()) co_return s;
    co_return co_await ReadReply();
  }

  asio::awaitable<absl::Status> Write(std::string bytes) {
    error_code ec;
    if (tls_) {
      co_await asio::async_write(stream_, asio::buffer(bytes),
                                 asio::redirect_error(asio::use_awaitable, ec));
    } else {
      co_await asio::async_write(stream_.next_layer(), asio::buffer(bytes),
                                 asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec) co_return IoFailure(ec);
    co_return absl::OkStatus();
  }

  asio::awaitable<absl::StatusOr<SmtpReply>> ReadReply() {
    SmtpReplyParser parser;
    for (size_t lines = 0; lines < kMaxReplyLines; ++lines) {
      error_code ec;
      size_t n = 0;
      if (tls_) {
        n = co_await asio::async_read_until(stream_, asio::dynamic_buffer(inbuf_, kMaxReplyLineBytes),
                                            '\n', asio::redirect_error(asio::use_awaitable, ec));
      } else {
        n = co_await asio::async_read_until(stream_.next_layer(),
                                            asio::dynamic_buffer(inbuf_, kMaxReplyLineBytes), '\n',
                                            asio::redirect_error(asio::use_awaitable, ec));
      }
      if (ec == asio::error::not_found) {
        co_return absl::UnavailableError(absl::StrCat(
            "smtp ", server_, ": reply line longer than ", kMaxReplyLineBytes, " bytes during ", step_));
      }
      if (ec) co_return IoFailure(ec);
      std::string_view line(inbuf_.data(), n - 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      auto complete = parser.AddLine(line);
      inbuf_.erase(0, n);
      if (!complete.ok()) {
        co_return absl::UnavailableError(
            absl::StrCat("smtp ", server_, ": ", complete.status().message(), " during ", step_));
      }
      if (*complete) co_return parser.Take();
    }
    co_return absl::UnavailableError(absl::StrCat("smtp ", server_, ": reply of more than ",
                                                  kMaxReplyLines, " lines during ", step_));
  }

  // A 4xx is temporary (retry); a 5xx is permanent (`permanent`, dead
  // letter); anything else is a confused server (retry).
  absl::Status Refused(std::string_view what, const SmtpReply& reply,
                       absl::StatusCode permanent = absl::StatusCode::kFailedPrecondition) const {
    const std::string message =
        absl::StrCat("smtp ", server_, ": ", std::string(what), " rejected: ", reply.Summary());
    switch (reply.code_class()) {
      case 4:
        return absl::UnavailableError(message);
      case 5:
        return absl::Status(permanent, message);
      default:
        return absl::UnavailableError(absl::StrCat("smtp ", server_, ": unexpected reply to ",
                                                   std::string(what), ": ", reply.Summary()));
    }
  }

  absl::Status IoFailure(const error_code& ec) const {
    if (timed_out_) return Timeout();
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
      return absl::UnavailableError(
          absl::StrCat("smtp ", server_, ": server closed the connection during ", step_));
    }
    return absl::UnavailableError(
        absl::StrCat("smtp ", server_, ": ", step_, " failed: ", ec.message()));
  }

  absl::Status Timeout() const {
    return absl::DeadlineExceededError(absl::StrCat("smtp ", server_, ": no answer within ",
                                                    absl::FormatDuration(timeout_), " (during ",
                                                    step_, ")"));
  }

  void OnDeadline() {
    timed_out_ = true;
    resolver_.cancel();
    error_code ignored;
    stream_.next_layer().close(ignored);
  }

  void Finish(absl::Status status) {
    if (!done_) return;
    SmtpDone done = std::move(done_);
    done_ = nullptr;
    done(std::move(status));
  }

  asio::strand<asio::io_context::executor_type> strand_;
  const std::shared_ptr<ssl::context> tls_context_;
  const std::shared_ptr<const SmtpServerOptions> options_;
  const SmtpEnvelope envelope_;
  const absl::Duration timeout_;
  SmtpDone done_;
  tcp::resolver resolver_;
  ssl::stream<tcp::socket> stream_;
  asio::steady_timer deadline_;
  const std::string server_;  // "host:port", for messages
  std::string inbuf_;
  std::string step_ = "start";
  bool tls_ = false;
  bool timed_out_ = false;
};

class AsioSmtpClient final : public SmtpClient {
 public:
  AsioSmtpClient(AdapterIo& io, std::shared_ptr<ssl::context> tls,
                 std::shared_ptr<const SmtpServerOptions> options)
      : io_(io), tls_(std::move(tls)), options_(std::move(options)) {}

  void Send(SmtpEnvelope envelope, absl::Duration timeout, SmtpDone done) override {
    std::make_shared<SmtpSession>(io_.context(), tls_, options_, std::move(envelope), timeout,
                                  std::move(done))
        ->Start();
  }

 private:
  AdapterIo& io_;
  const std::shared_ptr<ssl::context> tls_;
  const std::shared_ptr<const SmtpServerOptions> options_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SmtpClient>> SmtpClient::Create(AdapterIo& io,
                                                               SmtpServerOptions options) {
  auto tls = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(tls->native_handle(), TLS1_2_VERSION);
  error_code ec;
  if (options.ca_file.empty()) {
    tls->set_default_verify_paths(ec);
    if (ec) {
      return absl::FailedPreconditionError(
          absl::StrCat("email: cannot load the system trust store: ", ec.message(),
                       "; set ca_file"));
    }
  } else {
    if (!std::filesystem::is_regular_file(options.ca_file)) {
      return absl::FailedPreconditionError(
          absl::StrCat("email: ca_file ", options.ca_file, " does not exist"));
    }
    tls->load_verify_file(options.ca_file, ec);
    if (ec) {
      return absl::FailedPreconditionError(absl::StrCat(
          "email: ca_file ", options.ca_file, " holds no usable PEM certificate: ", ec.message()));
    }
  }
  tls->set_verify_mode(ssl::verify_peer);
  return std::unique_ptr<SmtpClient>(new AsioSmtpClient(
      io, std::move(tls), std::make_shared<const SmtpServerOptions>(std::move(options))));
}

}  // namespace hart::adapters::email
