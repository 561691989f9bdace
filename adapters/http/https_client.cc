#include "adapters/http/https_client.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <cctype>
#include <chrono>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "broker/common/secret_file.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/ssl.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/strand.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "boost/beast/ssl.hpp"

namespace hart::adapters::http {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using SteadyTime = std::chrono::steady_clock::time_point;

constexpr char kUserAgent[] = "hart-broker";
// A graceful TLS close after the response must not keep sockets around.
constexpr auto kShutdownBound = std::chrono::seconds(1);

bool IsIpAddress(const std::string& host) {
  boost::system::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

std::string HostPort(const HttpsUrl& url) {
  const std::string host = absl::StrContains(url.host, ':') ? absl::StrCat("[", url.host, "]")
                                                            : url.host;
  return absl::StrCat(host, ":", url.port);
}

// One request/response on its own connection. Every handler runs on the
// exchange's strand; `done_` is called exactly once.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(net::io_context& io, std::shared_ptr<ssl::context> tls, HttpsUrl url,
           HttpRequest request, bhttp::verb verb, HttpDone done)
      : strand_(net::make_strand(io)),
        tls_(std::move(tls)),
        url_(std::move(url)),
        peer_(HostPort(url_)),
        request_(std::move(request)),
        verb_(verb),
        done_(std::move(done)),
        resolver_(strand_),
        resolve_timer_(strand_),
        stream_(strand_, *tls_) {}

  void Start() {
    net::dispatch(strand_, [self = shared_from_this()] { self->Begin(); });
  }

 private:
  void Begin() {
    const absl::Duration timeout = std::max(request_.timeout, absl::ZeroDuration());
    deadline_ = std::chrono::steady_clock::now() +
                std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    absl::ToChronoNanoseconds(timeout));
    SSL* ssl = stream_.native_handle();
    if (IsIpAddress(url_.host)) {
      // Match an IP SAN; no SNI for addresses (RFC 6066).
      if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url_.host.c_str()) != 1) {
        return Finish(absl::InvalidArgumentError(
            absl::StrCat("cannot verify IP address ", url_.host)));
      }
      boost::system::error_code ignored;
      const tcp::endpoint endpoint(net::ip::make_address(url_.host, ignored), url_.port);
      Connect(std::vector<tcp::endpoint>{endpoint});
      return;
    }
    if (SSL_set_tlsext_host_name(ssl, url_.host.c_str()) != 1 ||
        SSL_set1_host(ssl, url_.host.c_str()) != 1) {
      return Finish(absl::InvalidArgumentError(
          absl::StrCat("cannot verify host name ", url_.host)));
    }
    // tcp_stream's deadline does not cover name resolution: a timer does.
    step_ = "resolve";
    resolve_timer_.expires_at(deadline_);
    resolve_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return;  // cancelled: resolution finished first
      self->resolve_timed_out_ = true;
      self->resolver_.cancel();
    });
    resolver_.async_resolve(
        url_.host, std::to_string(url_.port),
        [self = shared_from_this()](boost::system::error_code ec,
                                    tcp::resolver::results_type results) {
          self->resolve_timer_.cancel();
          if (ec) {
            return self->Fail(self->resolve_timed_out_ ? beast::error::timeout : ec);
          }
          self->Connect(results);
        });
  }

  template <class Endpoints>
  void Connect(const Endpoints& endpoints) {
    step_ = "connect to";
    beast::get_lowest_layer(stream_).expires_at(deadline_);
    beast::get_lowest_layer(stream_).async_connect(
        endpoints, [self = shared_from_this()](boost::system::error_code ec,
                                               const tcp::endpoint&) {
          if (ec) return self->Fail(ec);
          self->Handshake();
        });
  }

  void Handshake() {
    step_ = "TLS handshake with";
    beast::get_lowest_layer(stream_).expires_at(deadline_);
    stream_.async_handshake(ssl::stream_base::client,
                            [self = shared_from_this()](boost::system::error_code ec) {
                              if (ec) return self->Fail(ec);
                              self->Write();
                            });
  }

  void Write() {
    step_ = "send request to";
    outgoing_.method(verb_);
    outgoing_.target(url_.target);
    outgoing_.version(11);
    outgoing_.set(bhttp::field::host,
                  url_.port == 443 ? HostPort(url_).substr(0, HostPort(url_).rfind(':'))
                                   : HostPort(url_));
    outgoing_.set(bhttp::field::user_agent, kUserAgent);
    for (const auto& [name, value] : request_.headers) outgoing_.set(name, value);
    outgoing_.body() = std::move(request_.body);
    outgoing_.keep_alive(false);
    outgoing_.prepare_payload();
    beast::get_lowest_layer(stream_).expires_at(deadline_);
    bhttp::async_write(stream_, outgoing_,
                       [self = shared_from_this()](boost::system::error_code ec, size_t) {
                         if (ec) return self->Fail(ec);
                         self->Read();
                       });
  }

  void Read() {
    step_ = "read response from";
    parser_.body_limit(kMaxResponseBodyBytes);
    beast::get_lowest_layer(stream_).expires_at(deadline_);
    bhttp::async_read(stream_, buffer_, parser_,
                      [self = shared_from_this()](boost::system::error_code ec, size_t) {
                        if (ec) return self->Fail(ec);
                        self->OnResponse();
                      });
  }

  void OnResponse() {
    auto& message = parser_.get();
    HttpResponse response;
    response.status = static_cast<int>(message.result_int());
    for (const auto& field : message) {
      std::string& value = response.headers[absl::AsciiStrToLower(
          absl::string_view(field.name_string().data(), field.name_string().size()))];
      if (!value.empty()) value += ", ";
      value.append(field.value().data(), field.value().size());
    }
    response.body = std::move(message.body());
    Finish(std::move(response));
    // Close politely, bounded; the result no longer matters.
    beast::get_lowest_layer(stream_).expires_after(kShutdownBound);
    stream_.async_shutdown([self = shared_from_this()](boost::system::error_code) {});
  }

  void Fail(boost::system::error_code ec) {
    if (ec == beast::error::timeout) {
      return Finish(absl::DeadlineExceededError(
          absl::StrCat("timed out after ", absl::FormatDuration(request_.timeout), " during ",
                       step_, " ", peer_)));
    }
    if (ec == bhttp::error::body_limit) {
      return Finish(absl::UnavailableError(
          absl::StrCat(step_, " ", peer_, ": response body exceeds the ",
                       kMaxResponseBodyBytes / 1024, " KiB limit")));
    }
    std::string why = ec.message();
    const long verify = SSL_get_verify_result(stream_.native_handle());
    if (step_ == std::string("TLS handshake with") && verify != X509_V_OK) {
      why = absl::StrCat("certificate verification failed: ",
                         X509_verify_cert_error_string(verify));
    }
    Finish(absl::UnavailableError(absl::StrCat(step_, " ", peer_, ": ", why)));
  }

  void Finish(absl::StatusOr<HttpResponse> result) {
    if (!done_) return;
    HttpDone done = std::move(done_);
    done_ = nullptr;
    done(std::move(result));
  }

  net::strand<net::io_context::executor_type> strand_;
  const std::shared_ptr<ssl::context> tls_;  // outlives stream_
  const HttpsUrl url_;
  const std::string peer_;
  HttpRequest request_;
  const bhttp::verb verb_;
  HttpDone done_;
  tcp::resolver resolver_;
  net::steady_timer resolve_timer_;
  bool resolve_timed_out_ = false;
  beast::ssl_stream<beast::tcp_stream> stream_;
  SteadyTime deadline_;
  const char* step_ = "connect to";
  bhttp::request<bhttp::string_body> outgoing_;
  beast::flat_buffer buffer_;
  bhttp::response_parser<bhttp::string_body> parser_;
};

class BeastHttpsClient final : public HttpsClient {
 public:
  BeastHttpsClient(AdapterIo& io, std::shared_ptr<ssl::context> tls)
      : io_(io), tls_(std::move(tls)) {}

  void Send(HttpRequest request, HttpDone done) override {
    auto url = ParseHttpsUrl(request.url);
    bhttp::verb verb = bhttp::verb::unknown;
    if (request.method == "GET") verb = bhttp::verb::get;
    if (request.method == "POST") verb = bhttp::verb::post;
    absl::Status invalid = url.status();
    if (invalid.ok() && verb == bhttp::verb::unknown) {
      invalid = absl::InvalidArgumentError(
          absl::StrCat("HTTP method ", request.method, " is not supported (GET or POST)"));
    }
    if (!invalid.ok()) {
      // `done` runs on an AdapterIo thread, as promised, even now.
      net::post(io_.context(), [done = std::move(done), invalid] { done(invalid); });
      return;
    }
    std::make_shared<Exchange>(io_.context(), tls_, std::move(*url), std::move(request), verb,
                               std::move(done))
        ->Start();
  }

 private:
  AdapterIo& io_;
  const std::shared_ptr<ssl::context> tls_;
};

absl::Status LoadError(const std::string& what, const std::string& path,
                       const boost::system::error_code& ec) {
  return absl::FailedPreconditionError(
      absl::StrCat("cannot load ", what, " ", path, ": ", ec.message()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpsClient>> HttpsClient::Create(AdapterIo& io,
                                                                 const TlsClientOptions& tls) {
  if (tls.client_cert_file.empty() != tls.client_key_file.empty()) {
    return absl::InvalidArgumentError(
        "client_cert_file and client_key_file go together: set both or neither");
  }
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  if (SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION) != 1) {
    return absl::InternalError("cannot require TLS 1.2 or later");
  }
  context->set_verify_mode(ssl::verify_peer);
  boost::system::error_code ec;
  if (tls.ca_file.empty()) {
    context->set_default_verify_paths(ec);
    if (ec) return LoadError("the system trust store", "", ec);
  } else {
    context->load_verify_file(tls.ca_file, ec);
    if (ec) return LoadError("CA file", tls.ca_file, ec);
  }
  if (!tls.client_cert_file.empty()) {
    context->use_certificate_chain_file(tls.client_cert_file, ec);
    if (ec) return LoadError("client certificate", tls.client_cert_file, ec);
    auto key = ReadSecretFile(tls.client_key_file);
    if (!key.ok()) return key.status();
    context->use_private_key(net::buffer(*key), ssl::context::pem, ec);
    if (ec) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot load client key ", tls.client_key_file, " (is it the key of ",
                       tls.client_cert_file, "?): ", ec.message()));
    }
    if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
      return absl::FailedPreconditionError(absl::StrCat(
          "client key ", tls.client_key_file, " does not match certificate ",
          tls.client_cert_file));
    }
  }
  return std::unique_ptr<HttpsClient>(new BeastHttpsClient(io, std::move(context)));
}

absl::StatusOr<HttpsUrl> ParseHttpsUrl(const std::string& url) {
  constexpr absl::string_view kScheme = "https://";
  auto invalid = [](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("URL ", why));
  };
  for (const char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return invalid("contains whitespace or control characters");
    }
  }
  if (!absl::StartsWithIgnoreCase(url, kScheme)) {
    return invalid(absl::StrCat("must start with https:// (got \"",
                                url.substr(0, url.find(':')), ":...\")"));
  }
  const std::string rest = url.substr(kScheme.size());
  const size_t authority_end = rest.find_first_of("/?#");
  const std::string authority = rest.substr(0, authority_end);
  std::string target = authority_end == std::string::npos ? "" : rest.substr(authority_end);
  if (const size_t hash = target.find('#'); hash != std::string::npos) target.resize(hash);
  if (target.empty() || target[0] == '?') target = "/" + target;
  if (absl::StrContains(authority, '@')) {
    return invalid("must not contain user:password@ (use files for credentials)");
  }

  HttpsUrl out;
  out.target = target;
  std::string port;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string::npos) return invalid("has an unclosed [IPv6 address]");
    out.host = authority.substr(1, close - 1);
    const std::string after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return invalid("has junk after the [IPv6 address]");
      port = after.substr(1);
      if (port.empty()) return invalid("has an empty port");
    }
  } else {
    const size_t colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return invalid("has an empty port");
    }
  }
  if (out.host.empty()) return invalid("has no host");
  if (!port.empty()) {
    int number = 0;
    const bool digits = std::all_of(port.begin(), port.end(),
                                    [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    if (!digits || !absl::SimpleAtoi(port, &number) || number < 1 || number > 65535) {
      return invalid(absl::StrCat("has an invalid port \"", port, "\" (1-65535)"));
    }
    out.port = static_cast<uint16_t>(number);
  }
  return out;
}

std::optional<absl::Duration> ParseRetryAfter(const HttpResponse& response, absl::Time now) {
  const auto it = response.headers.find("retry-after");
  if (it == response.headers.end()) return std::nullopt;
  const std::string value(absl::StripAsciiWhitespace(it->second));
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    int64_t seconds = 0;
    if (!absl::SimpleAtoi(value, &seconds)) return std::nullopt;
    return absl::Seconds(seconds);
  }
  // IMF-fixdate, and the obsolete RFC 850 and asctime forms (RFC 9110 §5.6.7).
  for (const char* format : {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
                             "%a %b %e %H:%M:%S %Y"}) {
    absl::Time at;
    std::string error;
    if (absl::ParseTime(format, value, absl::UTCTimeZone(), &at, &error)) {
      return std::max(at - now, absl::ZeroDuration());
    }
  }
  return std::nullopt;
}

}  // namespace hart::adapters::http
