// The operations port's HTTPS server against a real client over TLS on
// 127.0.0.1: routing, answers from other threads, streams, limits, client
// certificates, and stopping.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "broker/api/identity.h"
#include "broker/ops/ops_server.h"
#include "tests/support/https_test_client.h"
#include "tests/support/test_certificates.h"
#include "tests/support/test_support.h"

namespace hart::ops {
namespace {

using ::hart::testing::HttpsTestClient;
using ::hart::testing::HttpsTestClientOptions;
using ::hart::testing::HttpsTestResponse;
using ::hart::testing::TempDir;
using ::hart::testing::TestCertificates;
using ::hart::testing::WaitFor;
using ::testing::HasSubstr;

OpsResponse Text(int status, std::string body) {
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

  TempDir dir_;
  TestCertificates certs_;
  OpsServerSettings settings_;
  Router router_;
  std::unique_ptr<OpsServer> server_;
};

Handler Says(std::string text) {
  return [text](const OpsRequest&, Reply reply) { reply.Respond(Text(200, text)); };
}

TEST_F(OpsServerTest, RoutesExactPathsThenTheLongestPrefix) {
  Handle("GET", "/livez", PathMatch::kExact, Says("exact"));
  Handle("GET", "/pages/", PathMatch::kPrefix, Says("pages"));
  Handle("GET", "/pages/referrals/", PathMatch::kPrefix, Says("referrals"));
  Handle("POST", "/pages/referrals/", PathMatch::kPrefix, Says("posted"));
  StartServer();
  auto client = Connect();
  ASSERT_TRUE(client);
  for (const auto& [target, expected] :
       std::vector<std::pair<std::string, std::string>>{{"/livez", "exact"},
                                                        {"/livez?verbose", "exact"},
                                                        {"/pages/overdue", "pages"},
                                                        {"/pages/referrals/ref_1", "referrals"}}) {
    auto response = client->Get(target);
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->status, 200) << target;
    EXPECT_EQ(response->body, expected) << target;
  }
  auto posted = client->Send("POST", "/pages/referrals/ref_1", "{}");
  ASSERT_TRUE(posted.ok());
  EXPECT_EQ(posted->body, "posted");
}

TEST_F(OpsServerTest, UnknownPathIs404AndUnservedMethodIs405WithAllow) {
  Handle("GET", "/livez", PathMatch::kExact, Says("ok"));
  StartServer();
  auto client = Connect();
  ASSERT_TRUE(client);
  auto missing = client->Get("/livez/extra");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  auto wrong_method = client->Send("DELETE", "/livez");
  ASSERT_TRUE(wrong_method.ok());
  EXPECT_EQ(wrong_method->status, 405);
  EXPECT_EQ(wrong_method->headers["allow"], "GET");
}

TEST_F(OpsServerTest, RouterRefusesATwiceRegisteredRouteAndARelativePath) {
  ASSERT_TRUE(router_.Handle("GET", "/a", PathMatch::kExact, Says("1")).ok());
  EXPECT_EQ(router_.Handle("GET", "/a", PathMatch::kExact, Says("2")).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(router_.Handle("GET", "/a", PathMatch::kPrefix, Says("3")).ok());
  EXPECT_EQ(router_.Handle("GET", "a", PathMatch::kExact, Says("4")).code(),
            absl::StatusCode::kInvalidArgument);
}

// Verifies the asynchronous contract: the handler returns at once and the
// answer comes from another thread, with the request's parts intact.
TEST_F(OpsServerTest, AnswersFromAnotherThreadAfterTheHandlerReturned) {
  Slot<std::pair<OpsRequest, Reply>> pending;
  Handle("POST", "/work", PathMatch::kExact, [&](const OpsRequest& request, Reply reply) {
    pending.Put({request, reply});
  });
  StartServer();
  auto client = Connect();
  ASSERT_TRUE(client);
  std::optional<absl::StatusOr<HttpsTestResponse>> response;
  std::thread caller(
      [&] { response = client->Send("POST", "/work?x=1", "the body", {{"X-Thing", "yes"}}); });
  auto taken = pending.Take();
  ASSERT_TRUE(taken.has_value());
  OpsRequest& request = taken->first;
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.path, "/work");
  EXPECT_EQ(request.query, "x=1");
  EXPECT_EQ(request.body, "the body");
  EXPECT_EQ(request.headers["x-thing"], "yes");
  EXPECT_FALSE(request.peer.has_value());  // no client certificate
  std::thread answerer([reply = taken->second] {
    OpsResponse answer = Text(201, "done later");
    answer.headers.emplace_back("Cache-Control", "max-age=5");
    reply.Respond(answer);
    reply.Respond(Text(500, "a second answer is ignored"));
  });
  answerer.join();
  caller.join();
  ASSERT_TRUE(response.has_value() && response->ok()) << response->status();
  EXPECT_EQ((*response)->status, 201);
  EXPECT_EQ((*response)->body, "done later");
  EXPECT_EQ((*response)->headers["cache-control"], "max-age=5");
  EXPECT_EQ((*response)->headers["x-content-type-options"], "nosniff");
}

TEST_F(OpsServerTest, AReplyDroppedUnansweredIs500AndASilentHandlerTimesOutWith503) {
  Slot<Reply> kept;
  Handle("GET", "/drops", PathMatch::kExact, [](const OpsRequest&, Reply) {});
  Handle("GET", "/keeps", PathMatch::kExact,
         [&](const OpsRequest&, Reply reply) { kept.Put(reply); });
  settings_.request_timeout = absl::Milliseconds(300);
  StartServer();
  auto client = Connect();
  ASSERT_TRUE(client);
  auto dropped = client->Get("/drops");
  ASSERT_TRUE(dropped.ok()) << dropped.status();
  EXPECT_EQ(dropped->status, 500);
  auto silent = client->Get("/keeps");
  ASSERT_TRUE(silent.ok()) << silent.status();
  EXPECT_EQ(silent->status, 503);
  auto late = kept.Take();
  ASSERT_TRUE(late.has_value());
  late->Respond(Text(200, "too late"));  // dropped, harmlessly
}

TEST_F(OpsServerTest, StreamsWhatAnotherThreadWritesUntilTheHandlerClosesIt) {
  Slot<std::shared_ptr<OpsStream>> streams;
  Handle("GET", "/events", PathMatch::kExact, [&](const OpsRequest&, Reply reply) {
    streams.Put(reply.OpenStream({200, "text/event-stream", {}}));
  });
  StartServer();
  auto client = Connect();
  ASSERT_TRUE(client);
  auto head = client->OpenStream("/events");
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->headers["content-type"], "text/event-stream");
  auto stream = streams.Take();
  ASSERT_TRUE(stream.has_value());
  std::atomic<int> closes{0};
  (*stream)->OnClose([&] { ++closes; });
  std::thread writer([s = *stream] {
    EXPECT_TRUE(s->Write("id: 1\ndata: first\n\n"));
    EXPECT_TRUE(s->Write("id: 2\ndata: second\n\n"));
  });
  writer.join();
  auto body = client->ReadStreamUntil("data: second");
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body, "id: 1\ndata: first\n\nid: 2\ndata: second\n\n");
  (*stream)->Close();
  EXPECT_TRUE(client->ReadStreamToEnd().ok());  // the last chunk came
  EXPECT_FALSE((*stream)->Write("after the end"));
  EXPECT_EQ(closes.load(), 1);
}

TEST_F(OpsServerTest, AStreamLearnsThatItsClientWentAway) {
  Slot<std::shared_ptr<OpsStream>> streams;
  absl::Notification closed;
  Handle("GET", "/events", PathMatch::kExact, [&](const OpsRequest&, Reply reply) {
    auto stream = reply.OpenStream({});
    stream->OnClose([&closed] { closed.Notify(); });
    streams.Put(stream);
  });
  StartServer();
  auto client = Connect();
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->OpenStream("/events").ok());
  auto stream = streams.Take();
  ASSERT_TRUE(stream.has_value());
  EXPECT_FALSE((*stream)->closed());
  client->Close();
  ASSERT_TRUE(closed.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE((*stream)->closed());
  EXPECT_FALSE((*stream)->Write("nobody reads this"));
}

TEST_F(OpsServerTest, AClientThatDoesNotReadIsCutOffInsteadOfBufferedWithoutBound) {
  Slot<std::shared_ptr<OpsStream>> streams;
  absl::Notification closed;
  Handle("GET", "/events", PathMatch::kExact, [&](const OpsRequest&, Reply reply) {
    auto stream = reply.OpenStream({});
    stream->OnClose([&closed] { closed.Notify(); });
    streams.Put(stream);
  });
  settings_.max_stream_buffer_bytes = 64 * 1024;
  StartServer();
  auto client = Connect();
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->OpenStream("/events").ok());
  auto stream = streams.Take();
  ASSERT_TRUE(stream.has_value());
  // The client reads nothing: once the socket buffers are full, what is
  // queued grows past the bound and the stream is closed.
  const std::string chunk(16 * 1024, 'x');
  EXPECT_TRUE(WaitFor([&] { return !(*stream)->Write(chunk); }, std::chrono::seconds(20)));
  EXPECT_TRUE(closed.WaitForNotificationWithTimeout(absl::Seconds(10)));
}

TEST_F(OpsServerTest, StopEndsOpenStreamsCleanlyAndAnswersWaitingRequests503) {
  Slot<std::shared_ptr<OpsStream>> streams;
  Slot<Reply> kept;
  absl::Notification closed;
  Handle("GET", "/events", PathMatch::kExact, [&](const OpsRequest&, Reply reply) {
    auto stream = reply.OpenStream({});
    stream->OnClose([&closed] { closed.Notify(); });
    streams.Put(stream);
  });
  Handle("GET", "/slow", PathMatch::kExact,
         [&](const OpsRequest&, Reply reply) { kept.Put(reply); });
  StartServer();
  auto streaming = Connect();
  auto waiting = Connect();
  ASSERT_TRUE(streaming && waiting);
  ASSERT_TRUE(streaming->OpenStream("/events").ok());
  auto stream = streams.Take();
  ASSERT_TRUE(stream.has_value());
  ASSERT_TRUE((*stream)->Write("data: before the stop\n\n"));
  std::optional<absl::StatusOr<HttpsTestResponse>> slow;
  std::thread caller([&] { slow = waiting->Get("/slow"); });
  auto reply = kept.Take();
  ASSERT_TRUE(reply.has_value());

  server_->Stop();
  caller.join();
  ASSERT_TRUE(slow->ok()) << slow->status();
  EXPECT_EQ((*slow)->status, 503);
  EXPECT_TRUE(closed.HasBeenNotified());
  auto body = streaming->ReadStreamUntil("before the stop");
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_TRUE(streaming->ReadStreamToEnd().ok());  // ended with its last chunk
  // Handles outlive the server harmlessly.
  reply->Respond(Text(200, "after the stop"));
  EXPECT_FALSE((*stream)->Write("after the stop"));
}

// Verifies that handles held elsewhere (a store task's Reply, a hub's
// stream) may be used and dropped after the server is destroyed.
TEST_F(OpsServerTest, HandlesOutliveTheServer) {
  Slot<Reply> kept;
  Slot<std::shared_ptr<OpsStream>> streams;
  Handle("GET", "/slow", PathMatch::kExact,
         [&](const OpsRequest&, Reply reply) { kept.Put(reply); });
  Handle("GET", "/events", PathMatch::kExact, [&](const OpsRequest&, Reply reply) {
    streams.Put(reply.OpenStream({}));
  });
  StartServer();
  auto waiting = Connect();
  auto streaming = Connect();
  ASSERT_TRUE(waiting && streaming);
  ASSERT_TRUE(streaming->OpenStream("/events").ok());
  std::thread caller([&] { (void)waiting->Get("/slow"); });
  auto reply = kept.Take();
  auto stream = streams.Take();
  ASSERT_TRUE(reply.has_value() && stream.has_value());
  server_.reset();
  caller.join();
  reply->Respond(Text(200, "nobody hears this"));
  EXPECT_FALSE((*stream)->Write("nor this"));
  EXPECT_TRUE((*stream)->closed());
  reply.reset();
  stream.reset();
}

TEST_F(OpsServerTest, ABodyOrHeadOverItsLimitIsRefused) {
  Handle("POST", "/upload", PathMatch::kExact, Says("stored"));
  settings_.max_body_bytes = 1024;
  settings_.max_header_bytes = 2048;
  StartServer();
  auto client = Connect();
  ASSERT_TRUE(client);
  auto small = client->Send("POST", "/upload", std::string(1000, 'a'));
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->status, 200);
  auto large = client->Send("POST", "/upload", std::string(1025, 'a'));
  ASSERT_TRUE(large.ok()) << large.status();
  EXPECT_EQ(large->status, 413);

  auto other = Connect();
  ASSERT_TRUE(other);
  auto long_head = other->Send("POST", "/upload", "", {{"X-Padding", std::string(4096, 'p')}});
  ASSERT_TRUE(long_head.ok()) << long_head.status();
  EXPECT_EQ(long_head->status, 431);
}

TEST_F(OpsServerTest, AMalformedRequestIs400) {
  Handle("GET", "/livez", PathMatch::kExact, Says("ok"));
  StartServer();
  auto client = Connect();
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->WriteRaw("GET /livez HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n").ok());
  auto answer = client->ReadResponse();
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->status, 400);
}

TEST_F(OpsServerTest, ConnectionsBeyondTheLimitAreClosed) {
  Handle("GET", "/livez", PathMatch::kExact, Says("ok"));
  settings_.max_connections = 1;
  StartServer();
  auto first = Connect();
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->Get("/livez").ok());
  HttpsTestClientOptions options;
  options.ca_file = certs_.ca_file;
  EXPECT_FALSE(HttpsTestClient::Connect(server_->port(), options).ok());
  first.reset();  // its slot frees once the server sees it go
  EXPECT_TRUE(WaitFor([&] {
    auto again = HttpsTestClient::Connect(server_->port(), options);
    return again.ok() && (*again)->Get("/livez").ok();
  }));
}

TEST_F(OpsServerTest, HandlersSeeTheVerifiedClientIdentity) {
  Slot<std::optional<PeerCertificate>> peers;
  Handle("GET", "/whoami", PathMatch::kExact, [&](const OpsRequest& request, Reply reply) {
    peers.Put(request.peer);
    reply.Respond(Text(200, "seen"));
  });
  StartServer();

  auto supervisor = Connect(certs_.identity_cert_file, certs_.identity_key_file);
  ASSERT_TRUE(supervisor);
  ASSERT_TRUE(supervisor->Get("/whoami").ok());
  auto peer = peers.Take();
  ASSERT_TRUE(peer.has_value() && peer->has_value());
  EXPECT_THAT((*peer)->uris, ::testing::ElementsAre(::hart::testing::kTestIdentityUri));
  EXPECT_THAT((*peer)->subject, HasSubstr("CN=Test Supervisor"));
  auto identity = ParseIdentityUri((*peer)->uris.front());
  ASSERT_TRUE(identity.ok());
  EXPECT_EQ(identity->role, Role::kSupervisor);
  EXPECT_EQ(identity->id, "test-supervisor");

  auto anonymous = Connect();
  ASSERT_TRUE(anonymous);
  ASSERT_TRUE(anonymous->Get("/whoami").ok());
  auto none = peers.Take();
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->has_value());

  // A certificate from another CA does not get through the handshake.
  HttpsTestClientOptions stranger;
  stranger.ca_file = certs_.ca_file;
  stranger.cert_file = certs_.stranger_cert_file;
  stranger.key_file = certs_.stranger_key_file;
  auto refused = HttpsTestClient::Connect(server_->port(), stranger);
  if (refused.ok()) {
    // TLS 1.3 reports the refusal on the first read.
    EXPECT_FALSE((*refused)->Get("/whoami").ok());
  }
}

TEST_F(OpsServerTest, StartNamesTheAddressItCannotUse) {
  settings_.listen_address = "localhost:0";
  auto server = OpsServer::Start(settings_, Router());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(server.status().message()), HasSubstr("localhost:0"));
  settings_.listen_address = "127.0.0.1:0";
  settings_.tls.cert_file = dir_.path() + "/missing.crt";
  server = OpsServer::Start(settings_, Router());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(server.status().message()), HasSubstr("missing.crt"));
}

}  // namespace
}  // namespace hart::ops
