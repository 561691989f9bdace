// A blocking HTTPS/1.1 client for tests of the broker's own HTTPS ports
// (Boost.Beast over OpenSSL): one connection to 127.0.0.1, requests one
// after another, optionally a client certificate, and streamed responses
// read piece by piece. Every operation is bounded by the timeout.
//
// Thread safety: one thread at a time.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace hart::testing {

struct HttpsTestClientOptions {
  std::string ca_file;  // verifies the server's certificate chain
  std::string cert_file;  // empty: no client certificate
  std::string key_file;
  absl::Duration timeout = absl::Seconds(10);
};

struct HttpsTestResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

class HttpsTestClient {
 public:
  // Connects and completes the TLS handshake.
  static absl::StatusOr<std::unique_ptr<HttpsTestClient>> Connect(int port,
                                                                  HttpsTestClientOptions options);
  ~HttpsTestClient();

  absl::StatusOr<HttpsTestResponse> Send(const std::string& method, const std::string& target,
                                         const std::string& body = "",
                                         const std::map<std::string, std::string>& headers = {});
  absl::StatusOr<HttpsTestResponse> Get(const std::string& target) { return Send("GET", target); }

  // A streamed response: sends the request and reads its head.
  absl::StatusOr<HttpsTestResponse> OpenStream(
      const std::string& target, const std::map<std::string, std::string>& headers = {});
  // Reads until the body so far contains `text`; returns the body so far.
  // FAILED_PRECONDITION if the stream ended first, DEADLINE_EXCEEDED or
  // UNAVAILABLE if it did not come.
  absl::StatusOr<std::string> ReadStreamUntil(const std::string& text);
  // Reads until the stream ends: OK when it ended cleanly (its last chunk),
  // else why not.
  absl::Status ReadStreamToEnd();

  // Sends raw bytes on the connection (malformed or oversized requests),
  // and reads the next response.
  absl::Status WriteRaw(const std::string& bytes);
  absl::StatusOr<HttpsTestResponse> ReadResponse();
  // Closes the connection at once, without TLS close_notify.
  void Close();

 private:
  class Impl;
  explicit HttpsTestClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hart::testing
