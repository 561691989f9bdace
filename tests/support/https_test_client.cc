#include "tests/support/https_test_client.h"

#include <limits>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/ssl.hpp"
#include "boost/asio/write.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "boost/beast/ssl.hpp"

namespace hart::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

class HttpsTestClient::Impl {
 public:
  explicit Impl(HttpsTestClientOptions options)
      : options_(std::move(options)), tls_(ssl::context::tls_client) {}

  absl::Status Connect(int port) {
    beast::error_code ec;
    tls_.load_verify_file(options_.ca_file, ec);
    if (ec) return Failed("CA", ec);
    tls_.set_verify_mode(ssl::verify_peer);
    if (!options_.cert_file.empty()) {
      tls_.use_certificate_chain_file(options_.cert_file, ec);
      if (!ec) tls_.use_private_key_file(options_.key_file, ssl::context::pem, ec);
      if (ec) return Failed("client certificate", ec);
    }
    stream_.emplace(io_, tls_);  // after the context is complete: SSL_new copies it
    const tcp::endpoint at(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port));
    ec = Run([&](auto done) { beast::get_lowest_layer(*stream_).async_connect(at, done); });
    if (ec) return Failed("connect", ec);
    ec = Run([&](auto done) { stream_->async_handshake(ssl::stream_base::client, done); });
    if (ec) return Failed("handshake", ec);
    return absl::OkStatus();
  }

  absl::StatusOr<HttpsTestResponse> Send(const std::string& method, const std::string& target,
                                         const std::string& body,
                                         const std::map<std::string, std::string>& headers) {
    if (auto s = WriteRequest(method, target, body, headers); !s.ok()) return s;
    return ReadResponse();
  }

  absl::StatusOr<HttpsTestResponse> ReadResponse() {
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    const beast::error_code ec =
        Run([&](auto done) { http::async_read(*stream_, buffer_, parser, done); });
    if (ec) return Failed("read", ec);
    return ToResponse(parser.get());
  }

  absl::StatusOr<HttpsTestResponse> OpenStream(const std::string& target,
                                               const std::map<std::string, std::string>& headers) {
    if (auto s = WriteRequest("GET", target, "", headers); !s.ok()) return s;
    parser_.emplace();
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    const beast::error_code ec =
        Run([&](auto done) { http::async_read_header(*stream_, buffer_, *parser_, done); });
    if (ec) return Failed("read head", ec);
    return ToResponse(parser_->get());
  }

  absl::StatusOr<std::string> ReadStreamUntil(const std::string& text) {
    if (!parser_) return absl::FailedPreconditionError("no stream is open");
    while (parser_->get().body().find(text) == std::string::npos) {
      if (parser_->is_done()) return absl::FailedPreconditionError("the stream ended");
      const beast::error_code ec =
          Run([&](auto done) { http::async_read_some(*stream_, buffer_, *parser_, done); });
      if (ec) return Failed("read stream", ec);
    }
    return parser_->get().body();
  }

  absl::Status ReadStreamToEnd() {
    if (!parser_) return absl::FailedPreconditionError("no stream is open");
    while (!parser_->is_done()) {
      const beast::error_code ec =
          Run([&](auto done) { http::async_read_some(*stream_, buffer_, *parser_, done); });
      if (ec) return Failed("read stream", ec);
    }
    return absl::OkStatus();
  }

  absl::Status WriteRaw(const std::string& bytes) {
    const beast::error_code ec =
        Run([&](auto done) { asio::async_write(*stream_, asio::buffer(bytes), done); });
    return ec ? Failed("write", ec) : absl::OkStatus();
  }

  void Close() {
    beast::error_code ignored;
    beast::get_lowest_layer(*stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(*stream_).close();
  }

 private:
  // Starts one asynchronous operation and runs the loop until it completes
  // (or the stream's timeout cuts it off).
  template <typename Start>
  beast::error_code Run(Start start) {
    beast::error_code result = asio::error::would_block;
    beast::get_lowest_layer(*stream_).expires_after(absl::ToChronoMilliseconds(options_.timeout));
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    io_.restart();
    io_.run();
    return result;
  }

  absl::Status WriteRequest(const std::string& method, const std::string& target,
                            const std::string& body,
                            const std::map<std::string, std::string>& headers) {
    http::request<http::string_body> request;
    request.method_string(method);
    request.target(target);
    request.version(11);
    request.set(http::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers) request.set(name, value);
    request.keep_alive(true);
    request.body() = body;
    request.prepare_payload();
    const beast::error_code ec =
        Run([&](auto done) { http::async_write(*stream_, request, done); });
    return ec ? Failed("write", ec) : absl::OkStatus();
  }

  template <typename Message>
  static HttpsTestResponse ToResponse(const Message& message) {
    HttpsTestResponse response;
    response.status = static_cast<int>(message.result_int());
    for (const auto& field : message) {
      response.headers[absl::AsciiStrToLower(std::string(field.name_string()))] =
          std::string(field.value());
    }
    response.body = message.body();
    return response;
  }

  static absl::Status Failed(const std::string& step, const beast::error_code& ec) {
    const std::string text = absl::StrCat(step, ": ", ec.message());
    return ec == beast::error::timeout ? absl::DeadlineExceededError(text)
                                       : absl::UnavailableError(text);
  }

  HttpsTestClientOptions options_;
  asio::io_context io_;
  ssl::context tls_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> stream_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
};

absl::StatusOr<std::unique_ptr<HttpsTestClient>> HttpsTestClient::Connect(
    int port, HttpsTestClientOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  if (auto s = impl->Connect(port); !s.ok()) return s;
  return std::unique_ptr<HttpsTestClient>(new HttpsTestClient(std::move(impl)));
}

HttpsTestClient::HttpsTestClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpsTestClient::~HttpsTestClient() = default;

absl::StatusOr<HttpsTestResponse> HttpsTestClient::Send(
    const std::string& method, const std::string& target, const std::string& body,
    const std::map<std::string, std::string>& headers) {
  return impl_->Send(method, target, body, headers);
}

absl::StatusOr<HttpsTestResponse> HttpsTestClient::OpenStream(
    const std::string& target, const std::map<std::string, std::string>& headers) {
  return impl_->OpenStream(target, headers);
}

absl::StatusOr<std::string> HttpsTestClient::ReadStreamUntil(const std::string& text) {
  return impl_->ReadStreamUntil(text);
}

absl::Status HttpsTestClient::ReadStreamToEnd() { return impl_->ReadStreamToEnd(); }

absl::Status HttpsTestClient::WriteRaw(const std::string& bytes) { return impl_->WriteRaw(bytes); }

absl::StatusOr<HttpsTestResponse> HttpsTestClient::ReadResponse() { return impl_->ReadResponse(); }

void HttpsTestClient::Close() { impl_->Close(); }

}  // namespace hart::testing
