// One HTTPS request/response exchange over Boost.Beast and OpenSSL, on the
// shared AdapterIo event loop. Used by the webhook and ncmec adapters.
//
// Each call opens a connection (keep-alive pooling is a later optimisation),
// verifies the server certificate against the configured CA and host name,
// optionally presents a client certificate, and bounds the whole exchange
// (resolve, connect, TLS, write, read) by one timeout.
//
// Thread safety: Send may be called from any thread; `done` runs exactly
// once on an AdapterIo thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/common/adapter_io.h"

namespace hart::adapters::http {

struct TlsClientOptions {
  // PEM file of the CA(s) that sign the partner's server certificate.
  // Empty: the system's default trust store.
  std::string ca_file;
  // Optional client certificate and key (PEM) presented to the partner.
  std::string client_cert_file;
  std::string client_key_file;
};

struct HttpRequest {
  std::string method = "POST";  // "GET" or "POST"
  // https://host[:port]/path?query
  std::string url;
  // Header names as sent; Host, Content-Length and User-Agent are set by
  // the client.
  std::map<std::string, std::string> headers;
  std::string body;
  absl::Duration timeout = absl::Seconds(30);
};

struct HttpResponse {
  int status = 0;
  // Lower-case header names.
  std::map<std::string, std::string> headers;
  std::string body;
};

// Outcome classes of a failed exchange (the HTTP status of a completed one
// is the caller's to interpret):
//  - UNAVAILABLE: resolve/connect/TLS/IO failure (message says which step,
//    e.g. "connect to 127.0.0.1:8443: Connection refused", "TLS handshake
//    with 127.0.0.1:8443: certificate verify failed").
//  - DEADLINE_EXCEEDED: the timeout expired (message says during which step).
//  - INVALID_ARGUMENT: the URL is not https://host[:port]/path, or the
//    method is not GET or POST.
//  - UNAVAILABLE too when the response body exceeds kMaxResponseBodyBytes.
// Messages name the step and the peer (host:port), never a body.
using HttpDone = std::function<void(absl::StatusOr<HttpResponse>)>;

// Larger response bodies fail the exchange (a partner's answer is small).
inline constexpr size_t kMaxResponseBodyBytes = 1024 * 1024;

class HttpsClient {
 public:
  // Loads the CA and client certificate now: errors name the file. The
  // client key is read with ReadSecretFile (so it must be chmod 600).
  // TLS 1.2 or later; the server's certificate must chain to the CA and
  // name the URL's host (DNS SAN, or IP SAN for an IP address).
  static absl::StatusOr<std::unique_ptr<HttpsClient>> Create(AdapterIo& io,
                                                             const TlsClientOptions& tls);
  virtual ~HttpsClient() = default;
  virtual void Send(HttpRequest request, HttpDone done) = 0;
};

// The parts of an https:// URL.
struct HttpsUrl {
  std::string host;  // a DNS name or an IP address (IPv6 without brackets)
  uint16_t port = 443;
  std::string target = "/";  // path and query; the fragment is dropped
};
// INVALID_ARGUMENT saying what is wrong: not https, no host, bad port, user
// info, whitespace or control characters.
absl::StatusOr<HttpsUrl> ParseHttpsUrl(const std::string& url);

// The delay a Retry-After header asks for (delta-seconds or an HTTP date,
// relative to `now`); nullopt if absent or unparseable.
std::optional<absl::Duration> ParseRetryAfter(const HttpResponse& response, absl::Time now);

}  // namespace hart::adapters::http
