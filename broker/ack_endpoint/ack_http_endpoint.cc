#include "broker/ack_endpoint/ack_http_endpoint.h"

#include "broker/common/callback_gate.h"
#include "broker/common/client_facing_status.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/strand.hpp"
#include "boost/asio/ssl.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "boost/beast/ssl.hpp"
#include "broker/common/logging.h"
#include "broker/common/strict_json.h"
#include "broker/ops/https_setup.h"
#include "google/protobuf/util/json_util.h"
#include "hart/referral/v1/feed.pb.h"

namespace hart {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr char kAckPath[] = "/v1/acks";

auto Log() { return Logger("ack_endpoint"); }

http::status HttpStatusOf(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk: return http::status::ok;
    case absl::StatusCode::kInvalidArgument: return http::status::bad_request;
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied: return http::status::forbidden;
    case absl::StatusCode::kNotFound: return http::status::not_found;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted: return http::status::conflict;
    case absl::StatusCode::kResourceExhausted: return http::status::too_many_requests;
    default: return http::status::service_unavailable;
  }
}

std::string JsonEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += absl::StrCat("\\u00", absl::Hex(c, absl::kZeroPad2));
        } else {
          out += c;
        }
    }
  }
  return out;
}

class Endpoint;

// One TLS connection: handshake, then requests until the peer closes, a
// timeout, or an error.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, ssl::context& tls, Endpoint& endpoint);
  ~Session();
  void Start();

 private:
  void ReadRequest();
  void OnRequest(beast::error_code ec);
  void Handle(const http::request<http::string_body>& request);
  // `http_status`: when the status code's usual mapping says less than HTTP
  // can (405, 413).
  void Reply(absl::Status status, const std::string& json_body,
             std::optional<http::status> http_status = std::nullopt);
  void Close();

  beast::ssl_stream<beast::tcp_stream> stream_;
  Endpoint& endpoint_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  bool keep_alive_ = false;
};

class Endpoint final : public AckHttpEndpoint {
 public:
  Endpoint(const AckEndpointSettings& settings, const AckTokens& tokens, AckRecorder& acks,
           Store& store, StoreExecutor& executor, const Clock& clock)
      : settings_(settings), tokens_(tokens), acks_(acks), store_(store), executor_(executor),
        clock_(clock),
        tls_(ssl::context::tls_server), acceptor_(io_) {}

  ~Endpoint() override {
    asio::post(io_, [this] {
      beast::error_code ignored;
      acceptor_.close(ignored);
    });
    // Acknowledgements being read or recorded call back into sessions: wait
    // for them (the executor and the recorder always answer) before the loop
    // goes away.
    acks_gate_.CloseAndWait();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  absl::Status Listen() {
    if (auto s = ops::ConfigureServerTls(tls_, {settings_.cert_file, settings_.key_file, "", ""},
                                         "ack endpoint");
        !s.ok()) {
      return s;
    }
    auto port = ops::Listen(acceptor_, settings_.listen_address, "ack endpoint");
    if (!port.ok()) return port.status();
    port_ = *port;
    Accept();
    thread_ = std::thread([this] { io_.run(); });
    Log()->info("event=listening port={}", port_);
    return absl::OkStatus();
  }

  int port() const override { return port_; }

  const AckEndpointSettings& settings() const { return settings_; }

  // Checks the token and records the acknowledgement; `done` runs on any
  // thread with the outcome and the JSON body to answer.
  void Acknowledge(const std::string& body,
                   std::function<void(absl::Status, std::string)> done) {
    v1::TokenAcknowledgeRequest request;
    if (auto s = ParseStrictJson(body, &request); !s.ok()) {
      done(absl::InvalidArgumentError(absl::StrCat(
               "the body is not a TokenAcknowledgeRequest in JSON: ", std::string(s.message()))),
           "");
      return;
    }
    if (request.delivery_id().empty() || request.ack_token().empty()) {
      done(absl::InvalidArgumentError("deliveryId and ackToken are required"), "");
      return;
    }
    const bool token_matches = tokens_.Verify(request.delivery_id(), request.ack_token());
    if (!acks_gate_.Enter()) {
      done(absl::UnavailableError("the broker is shutting down; retry"), "");
      return;
    }
    // The store is read (and a refusal audited) on the store executor, never
    // on this endpoint's I/O thread; the gate keeps this object alive until
    // the chain has answered.
    executor_.Run(
        [this, request, token_matches]() -> absl::StatusOr<DeliveryRecord> {
          if (!token_matches) {
            // Audited: someone holds a wrong or forged token for this delivery.
            AuditEvent denied{clock_.Now(), "ack-endpoint", "ack.denied", "",
                              request.delivery_id(), "", "reason=token_mismatch"};
            if (auto s = store_.AppendAudit({&denied, 1}); !s.ok()) {
              Log()->error("event=audit_failed code={}", absl::StatusCodeToString(s.code()));
            }
            return absl::PermissionDeniedError(
                absl::StrCat("the ack token does not match delivery ", request.delivery_id()));
          }
          return store_.GetDelivery(request.delivery_id());
        },
        [this, request, done = std::move(done)](absl::StatusOr<DeliveryRecord> delivery) {
          if (!delivery.ok()) {
            done(ClientFacingStatus(delivery.status()), "");
            acks_gate_.Exit();
            return;
          }
          Record(request, *delivery, std::move(done));
        });
  }

 private:
  // Records the acknowledgement of `delivery`; `done` answers; the gate,
  // entered by Acknowledge, is left once it has.
  void Record(const v1::TokenAcknowledgeRequest& request, const DeliveryRecord& delivery,
              std::function<void(absl::Status, std::string)> done) {
    AckRequest ack;
    ack.agency_id = delivery.agency_id;
    ack.delivery_id = request.delivery_id();
    ack.kind = request.kind();
    ack.note = request.note();
    ack.actor = absl::StrCat("agency/", delivery.agency_id, " via ack-token");
    acks_.AcknowledgeAsync(std::move(ack), [this, done = std::move(done)](
                                               absl::StatusOr<AckOutcome> outcome) {
      if (outcome.ok()) {
        v1::AcknowledgeResponse response;
        response.set_state(outcome->state);
        if (outcome->audit_index) response.set_audit_index(*outcome->audit_index);
        std::string json;
        (void)google::protobuf::util::MessageToJsonString(response, &json);
        done(absl::OkStatus(), json);
      } else {
        done(outcome.status(), "");
      }
      acks_gate_.Exit();
    });
  }

 public:
  bool AdmitConnection() {
    return connections_.fetch_add(1) < settings_.max_connections;
  }
  void ConnectionClosed() { connections_.fetch_sub(1); }

 private:
  void Accept() {
    acceptor_.async_accept(asio::make_strand(io_), [this](beast::error_code ec,
                                                          tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      if (!ec) {
        if (AdmitConnection()) {
          std::make_shared<Session>(std::move(socket), tls_, *this)->Start();
        } else {
          ConnectionClosed();
          Log()->warn("event=connection_refused reason=max_connections");
        }
      }
      Accept();
    });
  }

  const AckEndpointSettings settings_;
  const AckTokens& tokens_;
  AckRecorder& acks_;
  Store& store_;
  StoreExecutor& executor_;
  const Clock& clock_;
  // Declared before the loop: sessions its destructor destroys touch them.
  std::atomic<size_t> connections_{0};
  CallbackGate acks_gate_;
  asio::io_context io_;
  ssl::context tls_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  int port_ = 0;
};

Session::Session(tcp::socket socket, ssl::context& tls, Endpoint& endpoint)
    : stream_(std::move(socket), tls), endpoint_(endpoint) {}

Session::~Session() { endpoint_.ConnectionClosed(); }

void Session::Start() {
  beast::get_lowest_layer(stream_).expires_after(
      absl::ToChronoSeconds(endpoint_.settings().request_timeout));
  stream_.async_handshake(ssl::stream_base::server,
                          [self = shared_from_this()](beast::error_code ec) {
                            if (ec) return;  // scanners, wrong protocol: nothing to answer
                            self->ReadRequest();
                          });
}

void Session::ReadRequest() {
  parser_.emplace();
  parser_->body_limit(endpoint_.settings().max_body_bytes);
  beast::get_lowest_layer(stream_).expires_after(
      absl::ToChronoSeconds(endpoint_.settings().request_timeout));
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, size_t) {
                     self->OnRequest(ec);
                   });
}

void Session::OnRequest(beast::error_code ec) {
  if (ec == http::error::end_of_stream || ec == asio::error::eof ||
      ec == asio::ssl::error::stream_truncated) {
    Close();
    return;
  }
  if (ec == http::error::body_limit) {
    keep_alive_ = false;
    Reply(absl::InvalidArgumentError(absl::StrCat(
              "the body is larger than ", endpoint_.settings().max_body_bytes, " bytes")),
          "", http::status::payload_too_large);
    return;
  }
  if (ec) return;  // timeout or a broken peer: drop the connection
  Handle(parser_->get());
}

void Session::Handle(const http::request<http::string_body>& request) {
  keep_alive_ = request.keep_alive();
  if (request.target() != kAckPath) {
    Reply(absl::NotFoundError(absl::StrCat("no such path; acknowledge at ", kAckPath)), "");
    return;
  }
  if (request.method() != http::verb::post) {
    Reply(absl::InvalidArgumentError("use POST"), "", http::status::method_not_allowed);
    return;
  }
  // The session answers on its own strand whatever thread the ack
  // completes on.
  endpoint_.Acknowledge(request.body(), [self = shared_from_this()](absl::Status status,
                                                                    std::string body) {
    asio::post(self->stream_.get_executor(),
               [self, status = std::move(status), body = std::move(body)]() mutable {
                 self->Reply(std::move(status), body);
               });
  });
}

void Session::Reply(absl::Status status, const std::string& json_body,
                    std::optional<http::status> http_status) {
  response_ = {};
  response_.version(11);
  response_.result(http_status.value_or(HttpStatusOf(status.code())));
  if (response_.result() == http::status::method_not_allowed) {
    response_.set(http::field::allow, "POST");
  }
  if (status.code() == absl::StatusCode::kResourceExhausted &&
      response_.result() == http::status::too_many_requests) {
    response_.set(http::field::retry_after, "1");
  }
  if (status.code() == absl::StatusCode::kUnavailable) {
    response_.set(http::field::retry_after, "1");
  }
  response_.set(http::field::content_type, "application/json");
  response_.set(http::field::cache_control, "no-store");
  response_.keep_alive(keep_alive_);
  // Failures reach the partner redacted, as at the gRPC edge.
  const absl::Status client = ClientFacingStatus(status);
  response_.body() =
      status.ok() ? json_body
                  : absl::StrCat("{\"error\":{\"code\":\"",
                                 absl::StatusCodeToString(client.code()), "\",\"message\":\"",
                                 JsonEscape(std::string(client.message())), "\"}}");
  response_.prepare_payload();
  http::async_write(stream_, response_,
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      if (ec) return;
                      if (self->keep_alive_) {
                        self->ReadRequest();
                      } else {
                        self->Close();
                      }
                    });
}

void Session::Close() {
  beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
  stream_.async_shutdown([self = shared_from_this()](beast::error_code) {});
}

}  // namespace

absl::StatusOr<std::unique_ptr<AckHttpEndpoint>> AckHttpEndpoint::Start(
    const AckEndpointSettings& settings, const AckTokens& tokens, AckRecorder& acks,
    Store& store, StoreExecutor& executor, const Clock& clock) {
  auto endpoint = std::make_unique<Endpoint>(settings, tokens, acks, store, executor, clock);
  if (auto s = endpoint->Listen(); !s.ok()) return s;
  return std::unique_ptr<AckHttpEndpoint>(std::move(endpoint));
}

}  // namespace hart
