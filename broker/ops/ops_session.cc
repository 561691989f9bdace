#include "broker/ops/ops_session.h"

#include <chrono>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/ops/https_setup.h"

namespace hart::ops::internal {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

// How long sending the TLS close_notify may take.
constexpr auto kCloseTimeout = std::chrono::seconds(2);

OpsResponse Plain(int status, std::string body) {
  return {status, "text/plain; charset=utf-8", {}, std::move(body)};
}

// No header may smuggle a line break into the response.
bool IsSafeHeaderText(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

unsigned ValidStatus(int status) {
  return status >= 100 && status <= 599 ? static_cast<unsigned>(status) : 500u;
}

// The headers every answer carries: the handler's, then the defaults it
// did not set.
template <typename Message>
void SetHeaders(Message& message, const std::string& content_type,
                const std::vector<std::pair<std::string, std::string>>& headers) {
  if (IsSafeHeaderText(content_type)) message.set(http::field::content_type, content_type);
  bool cache_control = false;
  for (const auto& [name, value] : headers) {
    if (name.empty() || !IsSafeHeaderText(name) || !IsSafeHeaderText(value)) continue;
    cache_control = cache_control || absl::EqualsIgnoreCase(name, "cache-control");
    message.insert(name, value);
  }
  if (!cache_control) message.set(http::field::cache_control, "no-store");
  message.set("X-Content-Type-Options", "nosniff");
}

bool IsHttpParseError(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category();
}

}  // namespace

bool ServerCore::Admit() {
  absl::MutexLock lock(&mu_);
  if (connections_ >= settings_.max_connections) return false;
  ++connections_;
  return true;
}

void ServerCore::Release() {
  absl::MutexLock lock(&mu_);
  --connections_;
}

bool ServerCore::WaitUntilNoConnections(absl::Duration bound) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(
                                  +[](size_t* connections) { return *connections == 0; },
                                  &connections_),
                              bound);
}

void ServerCore::Register(Session* session) {
  absl::MutexLock lock(&mu_);
  sessions_.insert(session);
}

void ServerCore::Unregister(Session* session) {
  absl::MutexLock lock(&mu_);
  sessions_.erase(session);
}

void ServerCore::StopSessions() {
  absl::MutexLock lock(&mu_);
  for (Session* session : sessions_) {
    // Expired if the session is being destroyed (it waits for this lock).
    std::weak_ptr<Session> weak = session->weak_from_this();
    asio::post(session->strand(), [weak] {
      if (auto self = weak.lock()) self->Stop();
    });
  }
}

void ServerCore::TrackStream(const std::shared_ptr<StreamState>& stream) {
  absl::MutexLock lock(&mu_);
  std::erase_if(streams_, [](const std::weak_ptr<StreamState>& s) { return s.expired(); });
  streams_.push_back(stream);
}

void ServerCore::EndStreams() {
  std::vector<std::shared_ptr<StreamState>> open;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& weak : streams_) {
      if (auto stream = weak.lock()) open.push_back(std::move(stream));
    }
    streams_.clear();
  }
  for (const auto& stream : open) stream->EndFromServer(/*clean=*/false);
}

Session::Session(asio::ip::tcp::socket socket, Strand strand, ServerCore& core)
    : strand_(std::move(strand)),
      stream_(std::move(socket), core.tls()),
      core_(core),
      answer_timer_(strand_) {}

Session::~Session() {
  core_.Unregister(this);
  if (stream_state_) stream_state_->EndFromServer(/*clean=*/false);
  core_.Release();
}

void Session::Start() {
  core_.Register(this);
  asio::dispatch(strand_, [self = shared_from_this()] {
    self->Expire();
    self->stream_.async_handshake(asio::ssl::stream_base::server,
                                  [self](beast::error_code ec) { self->OnHandshake(ec); });
  });
}

void Session::Expire() {
  beast::get_lowest_layer(stream_).expires_after(
      absl::ToChronoMilliseconds(core_.settings().request_timeout));
}

void Session::OnHandshake(beast::error_code ec) {
  if (ec) return;  // scanners, wrong protocol, a refused certificate: nothing to answer
  peer_ = VerifiedPeer(stream_.native_handle());
  ReadRequest();
}

void Session::ReadRequest() {
  if (stopping_) return Shutdown();
  state_ = State::kReading;
  parser_.emplace();
  parser_->header_limit(static_cast<uint32_t>(core_.settings().max_header_bytes));
  parser_->body_limit(core_.settings().max_body_bytes);
  Expire();
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
}

void Session::OnRead(beast::error_code ec) {
  if (!ec) return Dispatch();
  if (ec == http::error::end_of_stream) return Shutdown();  // closed between requests
  if (stopping_ && ec == asio::error::operation_aborted) return Shutdown();
  keep_alive_ = false;
  if (ec == http::error::body_limit) {
    return Send(Plain(413, absl::StrCat("the body is larger than ",
                                        core_.settings().max_body_bytes, " bytes\n")));
  }
  if (ec == http::error::header_limit) {
    return Send(Plain(431, absl::StrCat("the request head is larger than ",
                                        core_.settings().max_header_bytes, " bytes\n")));
  }
  if (IsHttpParseError(ec)) return Send(Plain(400, "malformed request\n"));
  Abort();  // a timeout, a broken or vanished peer
}

void Session::Dispatch() {
  auto& message = parser_->get();
  keep_alive_ = message.keep_alive();
  OpsRequest request;
  request.method = std::string(message.method_string());
  request.target = std::string(message.target());
  const size_t question = request.target.find('?');
  request.path = request.target.substr(0, question);
  if (question != std::string::npos) request.query = request.target.substr(question + 1);
  for (const auto& field : message) {
    const std::string value(field.value());
    auto [it, added] =
        request.headers.emplace(absl::AsciiStrToLower(std::string(field.name_string())), value);
    if (!added) absl::StrAppend(&it->second, ", ", value);
  }
  request.body = std::move(message.body());
  request.peer = peer_;
  const Router::Found found = core_.router().Find(request.method, request.path);
  if (found.handler == nullptr) {
    if (found.allowed.empty()) return Send(Plain(404, "no such page\n"));
    OpsResponse refused = Plain(405, "method not allowed\n");
    refused.headers.emplace_back("Allow", absl::StrJoin(found.allowed, ", "));
    return Send(std::move(refused));
  }
  state_ = State::kAwaiting;
  auto exchange = std::make_shared<Exchange>(
      SessionLink{core_.lifeline(), weak_from_this()},
      core_.settings().max_stream_buffer_bytes,
      [core = &core_](const std::shared_ptr<StreamState>& stream) { core->TrackStream(stream); });
  exchange_ = exchange;
  WaitForAnswer();
  (*found.handler)(request, Reply(std::move(exchange)));
}

void Session::WaitForAnswer() {
  answer_timer_.expires_after(absl::ToChronoMilliseconds(core_.settings().request_timeout));
  answer_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec || self->state_ != State::kAwaiting) return;
    auto exchange = self->exchange_.lock();
    // Unclaimed: answer for the handler. Claimed (or dropped, which posts
    // its 500): an answer is queued on this strand; keep the connection for
    // it.
    if (exchange == nullptr || !exchange->Claim()) return self->WaitForAnswer();
    self->keep_alive_ = false;
    self->Send(Plain(503, "the answer took too long; retry\n"));
  });
}

void Session::Answer(OpsResponse response) {
  if (state_ != State::kAwaiting) return;  // timed out, or the server answered
  answer_timer_.cancel();
  Send(std::move(response));
}

void Session::Send(OpsResponse answer) {
  state_ = State::kResponding;
  if (stopping_) keep_alive_ = false;
  response_ = {};
  response_.version(11);
  response_.result(ValidStatus(answer.status));
  SetHeaders(response_, answer.content_type, answer.headers);
  response_.keep_alive(keep_alive_);
  response_.body() = std::move(answer.body);
  response_.prepare_payload();
  Expire();
  http::async_write(stream_, response_,
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      if (ec) return self->Abort();
                      if (self->keep_alive_ && !self->stopping_) return self->ReadRequest();
                      self->Shutdown();
                    });
}

void Session::BeginStream(const OpsStreamHead& head, std::shared_ptr<StreamState> stream) {
  if (state_ != State::kAwaiting) return stream->EndFromServer(/*clean=*/false);
  answer_timer_.cancel();
  state_ = State::kStreaming;
  stream_state_ = std::move(stream);
  // Opened while the server stops: the head, then the end at once.
  if (stopping_) stream_state_->EndFromServer(/*clean=*/true);
  stream_head_ = {};
  stream_head_.version(11);
  stream_head_.result(ValidStatus(head.status));
  SetHeaders(stream_head_, head.content_type, head.headers);
  stream_head_.keep_alive(false);  // the connection ends with the stream
  stream_head_.chunked(true);
  head_serializer_.emplace(stream_head_);
  writing_ = true;
  Expire();
  http::async_write_header(stream_, *head_serializer_,
                           [self = shared_from_this()](beast::error_code ec, size_t) {
                             self->OnStreamHeadWritten(ec);
                           });
}

void Session::OnStreamHeadWritten(beast::error_code ec) {
  writing_ = false;
  if (ec) return EndStream(/*clean=*/false);
  beast::get_lowest_layer(stream_).expires_never();  // a stream may idle
  WatchForHangUp();
  FlushStream();
}

// A read kept pending while streaming: it completes when the client goes
// away (or the server cancels it to close).
void Session::WatchForHangUp() {
  reading_ = true;
  stream_.async_read_some(asio::buffer(hang_up_buffer_),
                          [self = shared_from_this()](beast::error_code ec, size_t) {
                            self->reading_ = false;
                            if (self->state_ == State::kClosing) return self->Shutdown();
                            if (!ec) return self->WatchForHangUp();  // ignore what it sends
                            self->EndStream(/*clean=*/false);
                          });
}

void Session::FlushStream() {
  if (state_ != State::kStreaming || writing_ || !stream_state_) return;
  StreamState::Pending pending = stream_state_->Take();
  if (pending.abort) return EndStream(/*clean=*/false);
  if (!pending.data.empty()) {
    chunk_ = std::move(pending.data);
    writing_ = true;
    Expire();
    asio::async_write(stream_, http::make_chunk(asio::buffer(chunk_)),
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        self->OnChunkWritten(ec);
                      });
    return;
  }
  if (pending.end && !last_chunk_sent_) {
    last_chunk_sent_ = true;
    writing_ = true;
    Expire();
    asio::async_write(stream_, http::make_chunk_last(),
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        self->writing_ = false;
                        self->EndStream(/*clean=*/!ec);
                      });
  }
}

void Session::OnChunkWritten(beast::error_code ec) {
  writing_ = false;
  if (ec) return EndStream(/*clean=*/false);
  beast::get_lowest_layer(stream_).expires_never();
  FlushStream();
}

void Session::EndStream(bool clean) {
  if (state_ == State::kClosing) return;
  state_ = State::kClosing;
  stream_state_->EndFromServer(/*clean=*/false);  // runs its OnClose if not yet run
  if (!clean) return Abort();
  // The TLS close must not overlap the hang-up read: cancelled, its
  // handler closes.
  if (reading_) return beast::get_lowest_layer(stream_).cancel();
  Shutdown();
}

void Session::Shutdown() {
  state_ = State::kClosing;
  auto& tcp = beast::get_lowest_layer(stream_);
  if (!tcp.socket().is_open()) return;
  tcp.expires_after(kCloseTimeout);
  // Our close_notify only: waiting for the client's would hold the
  // connection (and a stopping server) until it chose to send one.
  SSL_set_shutdown(stream_.native_handle(), SSL_RECEIVED_SHUTDOWN);
  stream_.async_shutdown([self = shared_from_this()](beast::error_code) {
    beast::get_lowest_layer(self->stream_).close();
  });
}

void Session::Abort() {
  state_ = State::kClosing;
  beast::get_lowest_layer(stream_).close();
}

void Session::Stop() {
  stopping_ = true;
  switch (state_) {
    case State::kHandshake:
      return Abort();
    case State::kReading:
      // OnRead sees the cancellation and closes.
      return beast::get_lowest_layer(stream_).cancel();
    case State::kAwaiting:
      if (auto exchange = exchange_.lock(); exchange != nullptr && exchange->Claim()) {
        answer_timer_.cancel();
        keep_alive_ = false;
        Send(Plain(503, "the server is stopping; retry\n"));
      }
      return;  // else the handler's answer is queued; the connection closes after it
    case State::kResponding:
      return;  // closes once written
    case State::kStreaming:
      stream_state_->EndFromServer(/*clean=*/true);
      return FlushStream();  // what is queued, then the last chunk
    case State::kClosing:
      return;
  }
}

}  // namespace hart::ops::internal
