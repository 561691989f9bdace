#include "tests/support/https_test_server.h"

#include <openssl/ssl.h>

#include <cctype>
#include <chrono>
#include <deque>
#include <optional>
#include <sstream>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/ssl.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "boost/beast/ssl.hpp"

namespace hart::testing {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

namespace {

constexpr uint64_t kMaxRequestBody = 16 * 1024 * 1024;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// One chunk of a chunked body (RFC 9112 §7.1); never the empty last chunk.
std::string Chunk(const std::string& data) {
  return absl::StrCat(absl::Hex(data.size()), "\r\n", data, "\r\n");
}

}  // namespace

void ReplyStream::Send(std::string data) {
  absl::MutexLock lock(&mu_);
  if (sink_) {
    sink_(std::move(data));
  } else if (!closed_) {
    waiting_.push_back(std::move(data));
  }
}

uint64_t ReplyStream::Attach(std::function<void(std::string)> sink) {
  absl::MutexLock lock(&mu_);
  sink_ = std::move(sink);
  closed_ = false;
  for (std::string& data : waiting_) sink_(std::move(data));
  waiting_.clear();
  return ++token_;
}

void ReplyStream::Detach(uint64_t token) {
  absl::MutexLock lock(&mu_);
  if (token != token_) return;
  sink_ = nullptr;
  closed_ = true;
}

class HttpsTestServer::Impl {
 public:
  explicit Impl(Handler handler)
      : ssl_(ssl::context::tls_server), acceptor_(io_), handler_(std::move(handler)) {}

  ~Impl() {
    // Stop first: pending handlers (and the sessions they own) are destroyed
    // with io_, whatever state their connection is in.
    io_.stop();
    if (thread_.joinable()) thread_.join();
    // With the thread gone no session attaches a stream any more; detached,
    // no stream posts into io_ after it is destroyed.
    std::vector<std::pair<std::shared_ptr<ReplyStream>, uint64_t>> streams;
    {
      absl::MutexLock lock(&mu_);
      streams.swap(streams_);
    }
    for (const auto& [stream, token] : streams) stream->Detach(token);
  }

  absl::Status Listen(const Options& options) {
    boost::system::error_code ec;
    ssl_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                     ssl::context::no_tlsv1_1);
    ssl_.use_certificate_chain_file(options.cert_file, ec);
    if (ec) return FileError("certificate", options.cert_file, ec);
    ssl_.use_private_key_file(options.key_file, ssl::context::pem, ec);
    if (ec) return FileError("key", options.key_file, ec);
    if (!options.client_ca_file.empty()) {
      ssl_.load_verify_file(options.client_ca_file, ec);
      if (ec) return FileError("client CA", options.client_ca_file, ec);
      ssl_.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    }
    const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return absl::InternalError(absl::StrCat("https test server: listen: ", ec.message()));
    port_ = acceptor_.local_endpoint().port();
    Accept();
    thread_ = std::thread([this] { io_.run(); });
    return absl::OkStatus();
  }

  int port() const { return port_; }

  std::vector<ReceivedRequest> Requests() const {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

  bool WaitForRequests(size_t n, absl::Duration bound) const {
    absl::MutexLock lock(&mu_);
    auto arrived = [this, n]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return requests_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&arrived), bound);
  }

 private:
  class Session;

  static absl::Status FileError(const std::string& what, const std::string& path,
                                const boost::system::error_code& ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("https test server: cannot load ", what, " ", path, ": ", ec.message()));
  }

  void Accept();

  ServerReply Receive(const ReceivedRequest& request) {
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(request);
    }
    return handler_ ? handler_(request) : ServerReply{};
  }

  void Attached(std::shared_ptr<ReplyStream> stream, uint64_t token) {
    absl::MutexLock lock(&mu_);
    streams_.emplace_back(std::move(stream), token);
  }

  // Declared before the sessions' owner (io_) so it outlives their streams.
  ssl::context ssl_;
  net::io_context io_;
  tcp::acceptor acceptor_;
  const Handler handler_;
  int port_ = 0;
  std::thread thread_;
  mutable absl::Mutex mu_;
  std::vector<ReceivedRequest> requests_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<std::shared_ptr<ReplyStream>, uint64_t>> streams_ ABSL_GUARDED_BY(mu_);
};

// One connection: TLS handshake, then request/reply until either side
// closes, or a reply that stays open (ReplyStream) until either side closes.
class HttpsTestServer::Impl::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Impl& server)
      : server_(server), stream_(std::move(socket), server.ssl_), delay_(stream_.get_executor()) {}

  void Start() {
    stream_.async_handshake(ssl::stream_base::server,
                            [self = shared_from_this()](beast::error_code ec) {
                              if (ec) return;  // e.g. the client rejected our certificate
                              self->client_certificate_ =
                                  SSL_get0_peer_certificate(self->stream_.native_handle()) !=
                                  nullptr;
                              self->Read();
                            });
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(kMaxRequestBody);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return;  // closed, truncated or malformed: end the session
                       self->OnRequest(self->parser_->release());
                     });
  }

  void OnRequest(http::request<http::string_body> request) {
    ReceivedRequest received;
    received.method = std::string(request.method_string());
    received.target = std::string(request.target());
    for (const auto& field : request) {
      std::string& value = received.headers[Lower(std::string(field.name_string()))];
      if (!value.empty()) value += ", ";
      value += std::string(field.value());
    }
    received.body = request.body();
    received.client_certificate_presented = client_certificate_;
    const ServerReply reply = server_.Receive(received);

    if (reply.close_without_reply) {
      beast::error_code ignored;
      beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
      beast::get_lowest_layer(stream_).socket().close(ignored);
      return;
    }
    if (reply.stream) {
      StartStream(reply);
      return;
    }
    response_ = {};
    response_.version(11);
    response_.result(static_cast<unsigned>(reply.status));
    for (const auto& [name, value] : reply.headers) response_.set(name, value);
    response_.body() = reply.body;
    response_.keep_alive(request.keep_alive());
    response_.prepare_payload();
    if (reply.delay <= absl::ZeroDuration()) {
      Write();
      return;
    }
    delay_.expires_after(absl::ToChronoNanoseconds(reply.delay));
    delay_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->Write();
    });
  }

  void Write() {
    http::async_write(stream_, response_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return;  // the client gave up
                        if (self->response_.keep_alive()) {
                          self->Read();
                          return;
                        }
                        self->stream_.async_shutdown([self](beast::error_code) {});
                      });
  }

  // The headers now, then the body and each Send() as a chunk; reads only
  // to notice the client closing.
  void StartStream(const ServerReply& reply) {
    http::response_header<> header;
    header.version(11);
    header.result(static_cast<unsigned>(reply.status));
    for (const auto& [name, value] : reply.headers) header.set(name, value);
    header.set(http::field::transfer_encoding, "chunked");
    std::ostringstream text;
    text << header;  // the status line and fields, through the blank line
    stream_out_.push_back(text.str());
    if (!reply.body.empty()) stream_out_.push_back(Chunk(reply.body));
    WriteStream();
    // Data sent so far is posted, so it follows the headers.
    reply_stream_ = reply.stream;
    stream_token_ = reply_stream_->Attach(
        [weak = weak_from_this(), executor = stream_.get_executor()](std::string data) {
          net::post(executor, [weak, data = std::move(data)] {
            if (auto self = weak.lock()) self->SendChunk(data);
          });
        });
    server_.Attached(reply_stream_, stream_token_);
    AwaitClientClose();
  }

  void SendChunk(const std::string& data) {
    if (!reply_stream_ || data.empty()) return;  // closed; an empty chunk would end the body
    stream_out_.push_back(Chunk(data));
    if (stream_out_.size() == 1) WriteStream();
  }

  void WriteStream() {
    net::async_write(stream_, net::buffer(stream_out_.front()),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) {
                         self->EndStream();
                         return;
                       }
                       self->stream_out_.pop_front();
                       if (self->reply_stream_ && !self->stream_out_.empty()) self->WriteStream();
                     });
  }

  void AwaitClientClose() {
    stream_.async_read_some(net::buffer(discarded_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) {
                                self->EndStream();
                                return;
                              }
                              self->AwaitClientClose();
                            });
  }

  void EndStream() {
    if (!reply_stream_) return;
    reply_stream_->Detach(stream_token_);
    reply_stream_.reset();  // a write under way finishes; no more follow
  }

  Impl& server_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  net::steady_timer delay_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  bool client_certificate_ = false;
  // An open reply (ReplyStream); only the server thread touches these.
  std::shared_ptr<ReplyStream> reply_stream_;
  uint64_t stream_token_ = 0;
  std::deque<std::string> stream_out_;
  char discarded_[512];
};

void HttpsTestServer::Impl::Accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) return;  // stopped
    std::make_shared<Session>(std::move(socket), *this)->Start();
    Accept();
  });
}

absl::StatusOr<std::unique_ptr<HttpsTestServer>> HttpsTestServer::Start(Options options,
                                                                         Handler handler) {
  auto impl = std::make_unique<Impl>(std::move(handler));
  if (auto s = impl->Listen(options); !s.ok()) return s;
  return std::unique_ptr<HttpsTestServer>(new HttpsTestServer(std::move(impl)));
}

HttpsTestServer::HttpsTestServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpsTestServer::~HttpsTestServer() = default;

int HttpsTestServer::port() const { return impl_->port(); }

std::string HttpsTestServer::Url(const std::string& path) const {
  return absl::StrCat("https://127.0.0.1:", impl_->port(), path);
}

std::vector<ReceivedRequest> HttpsTestServer::Requests() const { return impl_->Requests(); }

bool HttpsTestServer::WaitForRequests(size_t n, absl::Duration bound) const {
  return impl_->WaitForRequests(n, bound);
}

}  // namespace hart::testing
