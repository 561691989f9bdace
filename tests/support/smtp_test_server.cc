// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include "tests/support/smtp_test_server.h"

#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "boost/asio/co_spawn.hpp"
#include "boost/asio/detached.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/read_until.hpp"
#include "boost/asio/redirect_error.hpp"
#include "boost/asio/ssl.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/this_coro.hpp"
#include "boost/asio/use_awaitable.hpp"
#include "boost/asio/write.hpp"

namespace hart::testing {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr size_t kMaxLineBytes = 8192;
constexpr size_t kMaxMessageBytes = 10 * 1024 * 1024;

// One client connection's state.
struct Connection {
  Connection(tcp::socket socket, ssl::context& tls) : stream(std::move(socket), tls) {}
  ssl::stream<tcp::socket> stream;
  std::string in;
  bool tls = false;
  std::string ehlo_name;
  std::string user;  // authenticated as
  bool in_mail = false;
  std::string mail_from;
  std::vector<std::string> rcpt_to;

  void ResetTransaction() {
    in_mail = false;
    mail_from.clear();
    rcpt_to.clear();
  }
};

// "<addr>" (possibly followed by parameters) after "FROM:" / "TO:".
std::optional<std::string> PathArgument(std::string_view arg, std::string_view prefix) {
  if (arg.size() < prefix.size() ||
      !absl::EqualsIgnoreCase(absl::string_view(arg.data(), prefix.size()),
                              absl::string_view(prefix.data(), prefix.size()))) {
    return std::nullopt;
  }
  arg.remove_prefix(prefix.size());
  while (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);
  if (arg.empty() || arg.front() != '<') return std::nullopt;
  const size_t close = arg.find('>');
  if (close == std::string_view::npos) return std::nullopt;
  return std::string(arg.substr(1, close - 1));
}

std::string InjectedReply(int code) {
  const int klass = code / 100;
  return absl::StrCat(code, " ", klass, ".0.0 injected failure\r\n");
}

}  // namespace

struct SmtpTestServer::Impl {
  explicit Impl(SmtpTestServerOptions o) : options(std::move(o)) {}

  // Declared before the io_context so that coroutine frames, destroyed
  // with it, never outlive what they reference.
  const SmtpTestServerOptions options;
  ssl::context tls{ssl::context::tls_server};
  mutable std::mutex mu;
  mutable std::condition_variable changed;
  std::vector<ReceivedMail> received;
  std::vector<std::string> verbs;
  std::map<std::string, std::pair<int, int>> failures;  // verb -> (code, times left)
  size_t connections = 0;

  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread thread;

  std::optional<int> TakeFailure(const std::string& verb) {
    std::lock_guard lock(mu);
    auto it = failures.find(verb);
    if (it == failures.end() || it->second.second <= 0) return std::nullopt;
    --it->second.second;
    return it->second.first;
  }

  asio::awaitable<void> Accept() {
    for (;;) {
      error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      {
        std::lock_guard lock(mu);
        ++connections;
      }
      asio::co_spawn(io, Serve(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<bool> Write(Connection& c, std::string text) {
    error_code ec;
    if (c.tls) {
      co_await asio::async_write(c.stream, asio::buffer(text), asio::redirect_error(asio::use_awaitable, ec));
    } else {
      co_await asio::async_write(c.stream.next_layer(), asio::buffer(text),
                                 asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return !ec;
  }

  // The next line without its CRLF; nullopt when the client is gone.
  asio::awaitable<std::optional<std::string>> ReadLine(Connection& c) {
    error_code ec;
    size_t n = 0;
    if (c.tls) {
      n = co_await asio::async_read_until(c.stream, asio::dynamic_buffer(c.in, kMaxLineBytes), '\n',
                                          asio::redirect_error(asio::use_awaitable, ec));
    } else {
      n = co_await asio::async_read_until(c.stream.next_layer(), asio::dynamic_buffer(c.in, kMaxLineBytes),
                                          '\n', asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec) co_return std::nullopt;
    std::string line = c.in.substr(0, n - 1);
    c.in.erase(0, n);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    co_return line;
  }

  std::string EhloReply(const Connection& c) const {
    std::vector<std::string> lines = {absl::StrCat("hart-test greets ", c.ehlo_name), "8BITMIME",
                                      "SIZE 10485760"};
    if (options.offer_starttls && !c.tls) lines.push_back("STARTTLS");
    if (c.tls && !options.username.empty()) lines.push_back(absl::StrCat("AUTH ", options.auth_mechanisms));
    std::string reply;
    for (size_t i = 0; i < lines.size(); ++i) {
      absl::StrAppend(&reply, "250", i + 1 == lines.size() ? " " : "-", lines[i], "\r\n");
    }
    return reply;
  }

  // The AUTH exchange; returns the reply to send.
  asio::awaitable<std::optional<std::string>> Authenticate(Connection& c, const std::string& arg) {
    if (!c.tls || options.username.empty()) co_return "503 5.5.1 AUTH not available\r\n";
    if (!c.user.empty()) co_return "503 5.5.1 already authenticated\r\n";
    std::vector<std::string> parts = absl::StrSplit(arg, ' ', absl::SkipEmpty());
    const std::string mechanism = parts.empty() ? "" : absl::AsciiStrToUpper(parts[0]);
    const std::vector<std::string> offered = absl::StrSplit(options.auth_mechanisms, ' ');
    if (std::find(offered.begin(), offered.end(), mechanism) == offered.end()) {
      co_return "504 5.5.4 mechanism not offered\r\n";
    }
    std::string user, password;
    if (mechanism == "PLAIN") {
      std::string response = parts.size() > 1 ? parts[1] : "";
      if (response.empty()) {
        if (!co_await Write(c, "334 \r\n")) co_return std::nullopt;
        auto line = co_await ReadLine(c);
        if (!line) co_return std::nullopt;
        response = *line;
      }
      std::string decoded;
      if (!absl::Base64Unescape(response, &decoded)) co_return "501 5.5.2 bad base64\r\n";
      std::vector<std::string> fields = absl::StrSplit(decoded, '\0');
      if (fields.size() != 3) co_return "501 5.5.2 bad PLAIN response\r\n";
      user = fields[1];
      password = fields[2];
    } else {  // LOGIN
      if (!co_await Write(c, "334 VXNlcm5hbWU6\r\n")) co_return std::nullopt;
      auto encoded_user = co_await ReadLine(c);
      if (!encoded_user) co_return std::nullopt;
      if (!co_await Write(c, "334 UGFzc3dvcmQ6\r\n")) co_return std::nullopt;
      auto encoded_password = co_await ReadLine(c);
      if (!encoded_password) co_return std::nullopt;
      if (!absl::Base64Unescape(*encoded_user, &user) ||
          !absl::Base64Unescape(*encoded_password, &password)) {
        co_return "501 5.5.2 bad base64\r\n";
      }
    }
    if (user != options.username || password != options.password) {
      co_return "535 5.7.8 Authentication credentials invalid\r\n";
    }
    c.user = user;
    co_return "235 2.7.0 Authentication successful\r\n";
  }

  // DATA's content up to the lone "."; returns the reply to send.
  asio::awaitable<std::optional<std::string>> ReceiveData(Connection& c) {
    if (!co_await Write(c, "354 End data with <CR><LF>.<CR><LF>\r\n")) co_return std::nullopt;
    std::string data;
    bool too_big = false;
    for (;;) {
      auto line = co_await ReadLine(c);
      if (!line) co_return std::nullopt;
      if (*line == ".") break;
      std::string_view content = *line;
      if (!content.empty() && content.front() == '.') content.remove_prefix(1);
      if (data.size() + content.size() > kMaxMessageBytes) too_big = true;
      if (!too_big) absl::StrAppend(&data, absl::string_view(content.data(), content.size()), "\r\n");
    }
    ReceivedMail mail{c.ehlo_name, c.mail_from, c.rcpt_to, std::move(data), c.tls, c.user};
    c.ResetTransaction();
    if (too_big) co_return "552 5.3.4 message too big\r\n";
    if (auto code = TakeFailure("END_OF_DATA")) co_return InjectedReply(*code);
    {
      std::lock_guard lock(mu);
      received.push_back(std::move(mail));
      changed.notify_all();
    }
    co_return "250 2.0.0 queued\r\n";
  }

  asio::awaitable<void> Serve(tcp::socket socket) {
    Connection c(std::move(socket), tls);
    if (options.greeting_delay > absl::ZeroDuration()) {
      asio::steady_timer delay(io, absl::ToChronoNanoseconds(options.greeting_delay));
      error_code ec;
      co_await delay.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
    }
    if (!co_await Write(c, "220 hart-test ESMTP ready\r\n")) co_return;
    for (;;) {
      auto line = co_await ReadLine(c);
      if (!line) co_return;
      const size_t space = line->find(' ');
      const std::string verb = absl::AsciiStrToUpper(line->substr(0, space));
      const std::string arg = space == std::string::npos ? "" : line->substr(space + 1);
      {
        std::lock_guard lock(mu);
        verbs.push_back(verb);
      }
      std::optional<std::string> reply;
      if (auto code = TakeFailure(verb)) {
        reply = InjectedReply(*code);
      } else if (verb == "EHLO") {
        c.ehlo_name = arg;
        c.ResetTransaction();
        reply = EhloReply(c);
      } else if (verb == "HELO") {
        c.ehlo_name = arg;
        c.ResetTransaction();
        reply = "250 hart-test\r\n";
      } else if (verb == "STARTTLS") {
        if (!options.offer_starttls) {
          reply = "502 5.5.1 STARTTLS not offered\r\n";
        } else if (c.tls) {
          reply = "503 5.5.1 TLS already active\r\n";
        } else {
          if (!co_await Write(c, "220 2.0.0 Ready to start TLS\r\n")) co_return;
          c.in.clear();  // RFC 3207: discard anything sent before the handshake
          error_code ec;
          co_await c.stream.async_handshake(ssl::stream_base::server,
                                            asio::redirect_error(asio::use_awaitable, ec));
          if (ec) co_return;
          c.tls = true;
          c.ehlo_name.clear();
          c.ResetTransaction();
          continue;
        }
      } else if (verb == "AUTH") {
        reply = co_await Authenticate(c, arg);
        if (!reply) co_return;
      } else if (verb == "MAIL") {
        auto from = PathArgument(arg, "FROM:");
        if (!c.tls) {
          reply = "530 5.7.0 Must issue a STARTTLS command first\r\n";
        } else if (!options.username.empty() && c.user.empty()) {
          reply = "530 5.7.0 Authentication required\r\n";
        } else if (c.in_mail) {
          reply = "503 5.5.1 nested MAIL command\r\n";
        } else if (!from) {
          reply = "501 5.5.4 syntax: MAIL FROM:<address>\r\n";
        } else {
          c.in_mail = true;
          c.mail_from = *from;
          reply = "250 2.1.0 OK\r\n";
        }
      } else if (verb == "RCPT") {
        auto to = PathArgument(arg, "TO:");
        if (!c.in_mail) {
          reply = "503 5.5.1 need MAIL first\r\n";
        } else if (!to || to->empty()) {
          reply = "501 5.5.4 syntax: RCPT TO:<address>\r\n";
        } else {
          c.rcpt_to.push_back(*to);
          reply = "250 2.1.5 OK\r\n";
        }
      } else if (verb == "DATA") {
        if (c.rcpt_to.empty()) {
          reply = "503 5.5.1 need RCPT first\r\n";
        } else {
          reply = co_await ReceiveData(c);
          if (!reply) co_return;
        }
      } else if (verb == "RSET") {
        c.ResetTransaction();
        reply = "250 2.0.0 OK\r\n";
      } else if (verb == "NOOP") {
        reply = "250 2.0.0 OK\r\n";
      } else if (verb == "QUIT") {
        co_await Write(c, "221 2.0.0 Bye\r\n");
        co_return;
      } else {
        reply = "500 5.5.2 unrecognized command\r\n";
      }
      if (!co_await Write(c, *reply)) co_return;
    }
  }
};

absl::StatusOr<std::unique_ptr<SmtpTestServer>> SmtpTestServer::Start(SmtpTestServerOptions options) {
  if (options.offer_starttls && (options.cert_file.empty() || options.key_file.empty())) {
    return absl::InvalidArgumentError("SmtpTestServer: STARTTLS needs cert_file and key_file");
  }
  auto impl = std::make_unique<Impl>(std::move(options));
  error_code ec;
  if (!impl->options.cert_file.empty()) {
    impl->tls.use_certificate_chain_file(impl->options.cert_file, ec);
    if (!ec) impl->tls.use_private_key_file(impl->options.key_file, ssl::context::pem, ec);
    if (ec) return absl::InternalError(absl::StrCat("SmtpTestServer: loading the certificate: ", ec.message()));
  }
  const auto address = asio::ip::make_address(impl->options.listen_address, ec);
  if (ec) return absl::InvalidArgumentError("SmtpTestServer: listen_address is not an IP address");
  const tcp::endpoint endpoint(address, 0);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return absl::InternalError(absl::StrCat("SmtpTestServer: listen: ", ec.message()));
  asio::co_spawn(impl->io, impl->Accept(), asio::detached);
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<SmtpTestServer>(new SmtpTestServer(std::move(impl)));
}

SmtpTestServer::SmtpTestServer(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)), port_(impl_->acceptor.local_endpoint().port()) {}

SmtpTestServer::~SmtpTestServer() {
  impl_->io.stop();
  impl_->thread.join();
  // Destroying the Impl destroys the io_context and with it every
  // suspended session.
}

void SmtpTestServer::FailNext(const std::string& verb, int code, int times) {
  std::lock_guard lock(impl_->mu);
  impl_->failures[absl::AsciiStrToUpper(verb)] = {code, times};
}

std::vector<ReceivedMail> SmtpTestServer::messages() const {
  std::lock_guard lock(impl_->mu);
  return impl_->received;
}

bool SmtpTestServer::WaitForMessages(size_t count, absl::Duration bound) const {
  std::unique_lock lock(impl_->mu);
  return impl_->changed.wait_for(lock, absl::ToChronoNanoseconds(bound),
                                 [&] { return impl_->received.size() >= count; });
}

std::vector<std::string> SmtpTestServer::commands() const {
  std::lock_guard lock(impl_->mu);
  return impl_->verbs;
}

size_t SmtpTestServer::sessions() const {
  std::lock_guard lock(impl_->mu);
  return impl_->connections;
}

}  // namespace hart::testing
