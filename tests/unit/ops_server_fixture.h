// What the operations server's tests share: a server on 127.0.0.1 with a
// throwaway PKI, a client, and a slot to pass what handlers hand out (a
// Reply, a stream) to the test's thread.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "broker/ops/ops_server.h"
#include "tests/support/https_test_client.h"
#include "tests/support/test_certificates.h"
#include "tests/support/test_support.h"

namespace hart::ops::testing {

using ::hart::testing::HttpsTestClient;
using ::hart::testing::HttpsTestClientOptions;
using ::hart::testing::HttpsTestResponse;
using ::hart::testing::TempDir;
using ::hart::testing::TestCertificates;
using ::hart::testing::WaitFor;

inline OpsResponse Text(int status, std::string body) {
  return {status, "text/plain; charset=utf-8", {}, std::move(body)};
}

// Holds what handlers hand out (a Reply, a stream) for the test thread.
template <typename T>
class Slot {
 public:
  void Put(T value) {
    absl::MutexLock lock(&mu_);
    value_ = std::move(value);
  }
  // Waits (bounded) until something was put.
  std::optional<T> Take() {
    absl::MutexLock lock(&mu_);
    if (!mu_.AwaitWithTimeout(absl::Condition(this, &Slot::Full), absl::Seconds(10))) {
      return std::nullopt;
    }
    std::optional<T> out = std::move(value_);
    value_.reset();
    return out;
  }

 private:
  bool Full() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return value_.has_value(); }
  absl::Mutex mu_;
  std::optional<T> value_ ABSL_GUARDED_BY(mu_);
};

class OpsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto certs = ::hart::testing::MakeTestCertificates(dir_.path());
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = *certs;
    settings_.tls = {certs_.server_cert_file, certs_.server_key_file, certs_.ca_file, ""};
  }

  void StartServer() {
    auto server = OpsServer::Start(settings_, std::move(router_));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  std::unique_ptr<HttpsTestClient> Connect(const std::string& cert = "",
                                           const std::string& key = "") {
    HttpsTestClientOptions options;
    options.ca_file = certs_.ca_file;
    options.cert_file = cert;
    options.key_file = key;
    auto client = HttpsTestClient::Connect(server_->port(), options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? std::move(*client) : nullptr;
  }

  void Handle(const std::string& method, const std::string& path, PathMatch match,
              Handler handler) {
    ASSERT_TRUE(router_.Handle(method, path, match, std::move(handler)).ok());
  }

  // Serves GET /events as a stream handed to `streams`; `closed` is
  // notified when the stream closes.
  void ServeEvents(Slot<std::shared_ptr<OpsStream>>& streams, absl::Notification& closed) {
    Handle("GET", "/events", PathMatch::kExact, [&streams, &closed](const OpsRequest&, Reply reply) {
      auto stream = reply.OpenStream({});
      stream->OnClose([&closed] { closed.Notify(); });
      streams.Put(stream);
    });
  }

  TempDir dir_;
  TestCertificates certs_;
  OpsServerSettings settings_;
  Router router_;
  std::unique_ptr<OpsServer> server_;
};

inline Handler Says(std::string text) {
  return [text](const OpsRequest&, Reply reply) { reply.Respond(Text(200, text)); };
}

}  // namespace hart::ops::testing
