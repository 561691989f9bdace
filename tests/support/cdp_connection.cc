#include "tests/support/cdp_connection.h"

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/websocket.hpp"

namespace hart::testing::cdp {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;

namespace {

// Screenshots come back base64-encoded in one message.
constexpr uint64_t kMaxMessageBytes = 64 * 1024 * 1024;

}  // namespace

class CdpConnection::Impl {
 public:
  explicit Impl(EventSink sink) : ws_(io_), sink_(std::move(sink)) {}

  ~Impl() {
    // Closing the socket ends the pending read and write; with no work
    // left the thread's run() returns.
    net::post(io_, [this] { beast::get_lowest_layer(ws_).close(); });
    if (thread_.joinable()) thread_.join();
  }

  absl::Status Connect(int port, const std::string& path, absl::Duration timeout) {
    struct Outcome {
      absl::Notification done;
      beast::error_code error;  // written before done is notified
    };
    auto outcome = std::make_shared<Outcome>();
    auto& socket = beast::get_lowest_layer(ws_);
    socket.expires_after(absl::ToChronoNanoseconds(timeout));  // connect and handshake
    const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port));
    const std::string host = absl::StrCat("127.0.0.1:", port);
    socket.async_connect(endpoint, [this, outcome, host, path](beast::error_code ec) {
      if (ec) {
        outcome->error = ec;
        outcome->done.Notify();
        return;
      }
      ws_.async_handshake(host, path, [this, outcome](beast::error_code ec) {
        if (!ec) {
          beast::get_lowest_layer(ws_).expires_never();
          ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
          ws_.read_message_max(kMaxMessageBytes);
          Read();
        }
        outcome->error = ec;
        outcome->done.Notify();
      });
    });
    thread_ = std::thread([this] { io_.run(); });
    // The socket's own expiry ends both steps; the margin only guards that.
    if (!outcome->done.WaitForNotificationWithTimeout(timeout + absl::Seconds(5))) {
      return absl::DeadlineExceededError(
          absl::StrCat("DevTools WebSocket ws://", host, path, ": no handshake"));
    }
    if (outcome->error) {
      return absl::UnavailableError(
          absl::StrCat("DevTools WebSocket ws://", host, path, ": ", outcome->error.message()));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<JsonObject> Call(const std::string& method, const JsonObject& params,
                                  const std::string& session_id, absl::Duration timeout) {
    int64_t id = 0;
    {
      absl::MutexLock lock(&mu_);
      if (!lost_.empty()) return absl::UnavailableError(absl::StrCat(method, ": ", lost_));
      id = ++next_id_;
      replies_.emplace(id, std::nullopt);
    }
    JsonObject message = Object({{"id", JsonNumber(static_cast<double>(id))},
                                 {"method", JsonString(method)},
                                 {"params", JsonOf(params)}});
    if (!session_id.empty()) (*message.mutable_fields())["sessionId"] = JsonString(session_id);
    net::post(io_, [this, text = ToJson(message)]() mutable { Send(std::move(text)); });

    std::optional<JsonObject> reply;
    std::string lost;
    {
      absl::MutexLock lock(&mu_);
      auto answered = [this, id]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return replies_.at(id).has_value() || !lost_.empty();
      };
      mu_.AwaitWithTimeout(absl::Condition(&answered), timeout);
      reply = std::move(replies_.at(id));
      replies_.erase(id);
      lost = lost_;
    }
    if (!reply) {
      if (!lost.empty()) return absl::UnavailableError(absl::StrCat(method, ": ", lost));
      return absl::DeadlineExceededError(absl::StrCat("the browser did not answer ", method,
                                                      " within ", absl::FormatDuration(timeout)));
    }
    if (const JsonValue& error = Get(*reply, "error"); error.has_struct_value()) {
      return absl::InternalError(absl::StrCat(method, ": ", GetString(*reply, "error.message"), " ",
                                              GetString(*reply, "error.data")));
    }
    return Get(*reply, "result").struct_value();
  }

 private:
  // Everything below runs on the connection's thread.

  void Read() {
    ws_.async_read(read_buffer_, [this](beast::error_code ec, size_t) {
      if (ec) {
        Lose(absl::StrCat("the DevTools connection closed (", ec.message(), ")"));
        return;
      }
      const std::string text = beast::buffers_to_string(read_buffer_.data());
      read_buffer_.consume(read_buffer_.size());
      Dispatch(text);
      Read();
    });
  }

  void Dispatch(const std::string& text) {
    absl::StatusOr<JsonObject> message = ParseObject(text);
    if (!message.ok()) {
      Lose(std::string(message.status().message()));
      return;
    }
    if (const JsonValue& id = Get(*message, "id"); id.has_number_value()) {
      absl::MutexLock lock(&mu_);
      // Absent: the caller gave up waiting.
      const auto waiting = replies_.find(static_cast<int64_t>(id.number_value()));
      if (waiting != replies_.end()) waiting->second = *std::move(message);
      return;
    }
    if (!sink_) return;
    sink_(CdpEvent{GetString(*message, "method"), GetString(*message, "sessionId"),
                   Get(*message, "params").struct_value()});
  }

  void Send(std::string text) {
    outbox_.push_back(std::move(text));
    if (outbox_.size() == 1) WriteNext();
  }

  void WriteNext() {
    ws_.text(true);
    ws_.async_write(net::buffer(outbox_.front()), [this](beast::error_code ec, size_t) {
      if (ec) {
        Lose(absl::StrCat("writing to the DevTools connection failed (", ec.message(), ")"));
        return;
      }
      outbox_.pop_front();
      if (!outbox_.empty()) WriteNext();
    });
  }

  // Fails every waiting and later Call() with `reason`.
  void Lose(std::string reason) {
    absl::MutexLock lock(&mu_);
    if (lost_.empty()) lost_ = std::move(reason);
  }

  net::io_context io_;  // declared before the stream it serves
  websocket::stream<beast::tcp_stream> ws_;
  const EventSink sink_;
  beast::flat_buffer read_buffer_;
  std::deque<std::string> outbox_;
  std::thread thread_;

  absl::Mutex mu_;
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  // A slot per command awaiting its reply.
  std::map<int64_t, std::optional<JsonObject>> replies_ ABSL_GUARDED_BY(mu_);
  std::string lost_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<std::unique_ptr<CdpConnection>> CdpConnection::Connect(int port,
                                                                      const std::string& path,
                                                                      EventSink sink,
                                                                      absl::Duration timeout) {
  auto impl = std::make_unique<Impl>(std::move(sink));
  if (absl::Status connected = impl->Connect(port, path, timeout); !connected.ok()) {
    return connected;
  }
  return std::unique_ptr<CdpConnection>(new CdpConnection(std::move(impl)));
}

CdpConnection::CdpConnection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CdpConnection::~CdpConnection() = default;

absl::StatusOr<JsonObject> CdpConnection::Call(const std::string& method,
                                               const JsonObject& params,
                                               const std::string& session_id,
                                               absl::Duration timeout) {
  return impl_->Call(method, params, session_id, timeout);
}

}  // namespace hart::testing::cdp
