// The handler API of the operations port (OpsServer, ops_server.h): what
// /livez, /readyz, /metrics and the supervisors' dashboard plug into.
//
// A handler is registered on a Router (router.h) by method and path. It gets
// each matching request and a Reply, and answers through the Reply exactly
// once: at once, or later from any thread, or by opening a stream.
//
//   // At once: no I/O, e.g. the metrics text from memory.
//   router.Handle("GET", "/metrics", PathMatch::kExact,
//                 [&](const OpsRequest&, Reply reply) {
//                   reply.Respond({200, "text/plain; version=0.0.4", {}, Render()});
//                 });
//
//   // Later: the store is read on the StoreExecutor, which answers.
//   router.Handle("GET", "/referrals/", PathMatch::kPrefix,
//                 [&](const OpsRequest& request, Reply reply) {
//                   executor.Run([id = request.path.substr(11)] { return Load(id); },
//                                [reply](absl::StatusOr<Page> page) { reply.Respond(...); });
//                 });
//
//   // A stream (server-sent events): written from any thread until either
//   // side closes it.
//   router.Handle("GET", "/events", PathMatch::kExact,
//                 [&](const OpsRequest&, Reply reply) {
//                   std::shared_ptr<OpsStream> stream = reply.OpenStream(
//                       {200, "text/event-stream", {}});
//                   auto token = hub.Listen("escalations", [stream](uint64_t seq) {
//                     stream->Write(absl::StrCat("id: ", seq, "\ndata: ...\n\n"));
//                   });
//                   stream->OnClose([&hub, token] { hub.Unlisten(token); });
//                 });
//
// Rules:
//  - Handlers run on the server's I/O thread and must return at once: no
//    store call, no file, no lock held across I/O. Slow work runs elsewhere
//    (the StoreExecutor) and answers from there.
//  - The first Respond or OpenStream counts; later calls do nothing (and
//    OpenStream then returns a closed stream). A Reply whose every copy is
//    dropped unanswered is answered 500 (a handler bug). One not answered
//    within the request timeout is answered 503; its late answer is
//    dropped. Answers to a client that went away, or after the server
//    stopped, are dropped: every call is safe at any time.
//  - Everything a handler or an OnClose callback uses must outlive the
//    server: stop the server first.
//  - Responses get "Cache-Control: no-store" unless the handler sets
//    Cache-Control, and always "X-Content-Type-Options: nosniff".
//  - Nothing of a request (paths, queries, bodies) is logged by the server:
//    they may name a referral.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hart::ops {

// The client certificate of a connection, when one was presented: it
// chains to the broker's CA and is not revoked (the TLS handshake refused
// any other). Identities come from its URIs: ParseIdentityUri
// (broker/api/identity.h) turns spiffe://hart.ct.gov/<role>/<id> into one.
struct PeerCertificate {
  std::vector<std::string> uris;  // subjectAltName URIs, in order
  std::string subject;            // RFC 2253, e.g. "CN=Jane Roe,O=DCF"
};

struct OpsRequest {
  std::string method;  // "GET", "POST", ... as sent
  std::string target;  // as sent: "/referrals/ref_1?view=timeline"
  std::string path;    // the target before '?', not percent-decoded
  std::string query;   // after '?', not decoded; empty if none
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  // Set only when the client presented a (verified) certificate.
  std::optional<PeerCertificate> peer;
};

struct OpsResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// The head of a streaming response; its body is written in chunks
// (Transfer-Encoding: chunked), e.g. "text/event-stream".
struct OpsStreamHead {
  int status = 200;
  std::string content_type = "text/event-stream";
  std::vector<std::pair<std::string, std::string>> headers;
};

// An open streaming response. Thread safety: every method may be called
// from any thread, at any time, also after the client or the server went.
class OpsStream {
 public:
  virtual ~OpsStream() = default;
  // Queues `data` to be sent; never blocks. False once the stream is
  // closed: the client went away, the server is stopping, Close was
  // called, or the client is too slow (more than the server's stream
  // buffer is queued: the stream is then closed, the client reconnects).
  virtual bool Write(std::string_view data) = 0;
  // Ends the response cleanly once what is queued is sent. Idempotent.
  virtual void Close() = 0;
  // Runs `on_close` once when the stream closes, for whatever reason (at
  // once, on this thread, if it is closed already): on the I/O thread or on
  // the thread that called Close or Write. It must be quick; it may call
  // Write and Close (which then do nothing). At most one callback: a later
  // OnClose replaces an earlier one that has not run.
  virtual void OnClose(std::function<void()> on_close) = 0;
  virtual bool closed() const = 0;
};

namespace internal {
class Exchange;
}  // namespace internal

// How a handler answers one request. A cheap handle: copy it into
// callbacks freely; every copy answers the same request.
class Reply {
 public:
  explicit Reply(std::shared_ptr<internal::Exchange> exchange);
  void Respond(OpsResponse response) const;
  // Sends `head` and returns the stream to write the body to.
  std::shared_ptr<OpsStream> OpenStream(OpsStreamHead head) const;

 private:
  std::shared_ptr<internal::Exchange> exchange_;
};

// Called on the I/O thread; must not block (see above).
using Handler = std::function<void(const OpsRequest& request, Reply reply)>;

}  // namespace hart::ops
