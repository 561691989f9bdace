// A real HTTPS/1.1 server on 127.0.0.1 for adapter tests (Boost.Beast over
// OpenSSL): it records every request it receives and answers with whatever
// the test's handler says — including a late reply (for timeouts) or no
// reply at all. Each request is recorded before it is answered, so a reply
// the client gave up on still counts as received.
//
// A reply may stay open and carry more data later (server-sent events):
// see ReplyStream.
//
// Thread safety: connections are served asynchronously on one server thread
// (a delayed reply does not hold up other connections); the handler runs on
// that thread. Requests(), WaitForRequests() and ReplyStream::Send() may be
// called from any thread. The destructor stops the server without waiting
// for clients, even ones in the middle of a request, and joins its thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace hart::testing {

struct ReceivedRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  bool client_certificate_presented = false;
};

// The open end of a reply (e.g. text/event-stream): a ServerReply that
// carries one is sent with chunked encoding, its body as the first chunk,
// and the connection then stays open; each Send() goes out as one more
// chunk, until the client closes or the server stops. Data sent before the
// reply went out waits for it. One connection at a time: a later reply that
// carries the same stream takes it over.
class ReplyStream {
 public:
  // Any thread. Dropped once the connection closed or the server stopped;
  // empty data sends nothing (an empty chunk would end the reply).
  void Send(std::string data);

  // For the server: Attach() routes Send() to `sink` (which must not block)
  // and returns a token; Detach(token) ends that routing, unless a later
  // Attach() took over.
  uint64_t Attach(std::function<void(std::string)> sink);
  void Detach(uint64_t token);

 private:
  absl::Mutex mu_;
  std::function<void(std::string)> sink_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> waiting_ ABSL_GUARDED_BY(mu_);
  uint64_t token_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

struct ServerReply {
  int status = 200;
  std::map<std::string, std::string> headers;
  std::string body;
  // Wait this long before replying (for timeout tests).
  absl::Duration delay = absl::ZeroDuration();
  // Drop the connection instead of replying.
  bool close_without_reply = false;
  // Set: the reply stays open for more data (see ReplyStream); sent at
  // once, `delay` does not apply.
  std::shared_ptr<ReplyStream> stream;
};

class HttpsTestServer {
 public:
  using Handler = std::function<ServerReply(const ReceivedRequest&)>;
  struct Options {
    std::string cert_file;
    std::string key_file;
    // Non-empty: require a client certificate and verify it against this CA.
    std::string client_ca_file;
  };

  // Listens on 127.0.0.1 on a free port.
  static absl::StatusOr<std::unique_ptr<HttpsTestServer>> Start(Options options,
                                                                Handler handler);
  ~HttpsTestServer();
  HttpsTestServer(const HttpsTestServer&) = delete;
  HttpsTestServer& operator=(const HttpsTestServer&) = delete;

  int port() const;
  // "https://127.0.0.1:<port><path>"
  std::string Url(const std::string& path) const;
  // Everything received so far, in arrival order.
  std::vector<ReceivedRequest> Requests() const;
  // Waits (bounded) until at least `n` requests arrived; false on timeout.
  bool WaitForRequests(size_t n, absl::Duration bound = absl::Seconds(10)) const;


 private:
  class Impl;
  explicit HttpsTestServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hart::testing
