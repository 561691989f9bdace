#include "broker/ops/ops_exchange.h"

#include "boost/asio/dispatch.hpp"
#include "boost/asio/post.hpp"
#include "broker/ops/ops_session.h"

namespace hart::ops {

Reply::Reply(std::shared_ptr<internal::Exchange> exchange) : exchange_(std::move(exchange)) {}

void Reply::Respond(OpsResponse response) const { exchange_->Respond(std::move(response)); }

std::shared_ptr<OpsStream> Reply::OpenStream(OpsStreamHead head) const {
  return exchange_->OpenStream(std::move(head));
}

namespace internal {

bool Lifeline::Post(std::weak_ptr<Session> session,
                    std::function<void(const std::shared_ptr<Session>&)> work,
                    std::function<void()> gone) {
  absl::MutexLock lock(&mu_);
  if (!alive_) return false;
  boost::asio::post(io_, [session = std::move(session), work = std::move(work),
                          gone = std::move(gone)]() mutable {
    auto self = session.lock();
    if (self == nullptr) {
      if (gone) gone();
      return;
    }
    boost::asio::dispatch(self->strand(), [self, work = std::move(work)] { work(self); });
  });
  return true;
}

bool StreamState::Write(std::string_view data) {
  std::function<void()> on_close;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return false;
    if (pending_.size() + data.size() <= max_buffer_bytes_) {
      pending_.append(data);
      PostFlushLocked();
      return true;
    }
    // The client does not keep up: cut it off rather than buffer without
    // bound; it reconnects and resumes.
    on_close = CloseLocked(/*end=*/false, /*abort=*/true);
  }
  if (on_close) on_close();
  return false;
}

void StreamState::Close() {
  std::function<void()> on_close;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    on_close = CloseLocked(/*end=*/true, /*abort=*/false);
  }
  if (on_close) on_close();
}

void StreamState::OnClose(std::function<void()> on_close) {
  {
    absl::MutexLock lock(&mu_);
    if (!closed_) {
      on_close_ = std::move(on_close);
      return;
    }
  }
  if (on_close) on_close();
}

bool StreamState::closed() const {
  absl::MutexLock lock(&mu_);
  return closed_;
}

StreamState::Pending StreamState::Take() {
  absl::MutexLock lock(&mu_);
  flush_posted_ = false;
  Pending pending;
  pending.data = std::move(pending_);
  pending_.clear();
  pending.end = end_;
  pending.abort = abort_;
  return pending;
}

void StreamState::EndFromServer(bool clean) {
  std::function<void()> on_close;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    closed_ = true;
    end_ = clean;
    on_close = std::move(on_close_);
    on_close_ = nullptr;
  }
  if (on_close) on_close();
}

std::function<void()> StreamState::CloseLocked(bool end, bool abort) {
  closed_ = true;
  end_ = end;
  abort_ = abort;
  PostFlushLocked();  // the session sends the last chunk, or cuts the connection
  std::function<void()> on_close = std::move(on_close_);
  on_close_ = nullptr;
  return on_close;
}

void StreamState::PostFlushLocked() {
  if (flush_posted_) return;
  flush_posted_ = link_.lifeline->Post(
      link_.session, [](const std::shared_ptr<Session>& session) { session->FlushStream(); });
}

Exchange::~Exchange() {
  if (!Claim()) return;
  PostAnswer({500, "text/plain; charset=utf-8", {}, "the handler did not answer\n"});
}

void Exchange::Respond(OpsResponse response) {
  if (Claim()) PostAnswer(std::move(response));
}

void Exchange::PostAnswer(OpsResponse response) {
  link_.lifeline->Post(link_.session,
                       [response = std::move(response)](
                           const std::shared_ptr<Session>& session) mutable {
                         session->Answer(std::move(response));  // runs once
                       });
}

std::shared_ptr<OpsStream> Exchange::OpenStream(OpsStreamHead head) {
  auto stream = std::make_shared<StreamState>(link_, max_stream_buffer_bytes_);
  if (!Claim()) {
    stream->EndFromServer(/*clean=*/false);  // answered already: a closed stream
    return stream;
  }
  track_stream_(stream);
  const bool posted = link_.lifeline->Post(
      link_.session,
      [head = std::move(head), stream](const std::shared_ptr<Session>& session) {
        session->BeginStream(head, stream);
      },
      [stream] { stream->EndFromServer(/*clean=*/false); });  // the client went away
  if (!posted) stream->EndFromServer(/*clean=*/false);  // the server stopped
  return stream;
}

}  // namespace internal
}  // namespace hart::ops
