// The operations port's HTTPS server against a real client over TLS on
// 127.0.0.1: routing, answers from other threads, limits, client
// certificates. Streams and stopping: ops_stream_test.cc.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "tests/unit/ops_server_fixture.h"
#include "broker/api/identity.h"

namespace hart::ops::testing {
namespace {

using ::testing::HasSubstr;

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
}  // namespace hart::ops::testing
