#include "adapters/http/https_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>

#include "boost/asio/ip/tcp.hpp"
#include "tests/support/https_test_server.h"
#include "tests/support/test_certificates.h"
#include "tests/support/test_support.h"

namespace hart::adapters::http {
namespace {

using hart::testing::HttpsTestServer;
using hart::testing::MakeTestCertificates;
using hart::testing::ReceivedRequest;
using hart::testing::ServerReply;
using hart::testing::TempDir;
using hart::testing::TestCertificates;
using ::testing::HasSubstr;

constexpr auto kBound = std::chrono::seconds(10);

// A port nobody listens on: bound once, then released.
int RefusedPort() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(
      io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const int port = acceptor.local_endpoint().port();
  acceptor.close();
  return port;
}

class HttpsClientTest : public ::testing::Test {
 protected:
  HttpsClientTest() : certs_(MakeTestCertificates(dir_.path()).value()) {}

  std::unique_ptr<HttpsTestServer> StartServer(HttpsTestServer::Handler handler,
                                               bool require_client_cert = false) {
    HttpsTestServer::Options options{certs_.server_cert_file, certs_.server_key_file,
                                     require_client_cert ? certs_.ca_file : ""};
    return HttpsTestServer::Start(options, std::move(handler)).value();
  }

  std::unique_ptr<HttpsClient> Client(TlsClientOptions tls) {
    return HttpsClient::Create(io_, tls).value();
  }
  std::unique_ptr<HttpsClient> Client() { return Client({certs_.ca_file, "", ""}); }

  // Sends and waits (bounded) for the outcome.
  static absl::StatusOr<HttpResponse> Call(HttpsClient& client, HttpRequest request) {
    auto promise = std::make_shared<std::promise<absl::StatusOr<HttpResponse>>>();
    auto future = promise->get_future();
    client.Send(std::move(request),
                [promise](absl::StatusOr<HttpResponse> r) { promise->set_value(std::move(r)); });
    if (future.wait_for(kBound) != std::future_status::ready) {
      return absl::InternalError("test: no outcome within the bound");
    }
    return future.get();
  }

  static HttpRequest Post(const std::string& url, absl::Duration timeout = absl::Seconds(5)) {
    HttpRequest request;
    request.url = url;
    request.body = R"({"hello":"partner"})";
    request.headers["Content-Type"] = "application/json";
    request.headers["X-Custom"] = "42";
    request.timeout = timeout;
    return request;
  }

  TempDir dir_;
  TestCertificates certs_;
  AdapterIo io_;
};

TEST_F(HttpsClientTest, PostsAndReadsTheResponse) {
  auto server = StartServer([](const ReceivedRequest&) {
    return ServerReply{201, {{"X-Reply", "yes"}}, "created"};
  });
  auto client = Client();
  auto response = Call(*client, Post(server->Url("/hooks/hart?x=1#frag")));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->body, "created");
  EXPECT_EQ(response->headers["x-reply"], "yes");

  const auto requests = server->Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/hooks/hart?x=1");
  EXPECT_EQ(requests[0].body, R"({"hello":"partner"})");
  EXPECT_EQ(requests[0].headers.at("x-custom"), "42");
  EXPECT_EQ(requests[0].headers.at("content-type"), "application/json");
  EXPECT_EQ(requests[0].headers.at("host"), "127.0.0.1:" + std::to_string(server->port()));
  EXPECT_FALSE(requests[0].client_certificate_presented);
}

TEST_F(HttpsClientTest, VerifiesAHostNameWithSni) {
  auto server = StartServer([](const ReceivedRequest&) { return ServerReply{200, {}, "ok"}; });
  auto client = Client();
  HttpRequest request = Post("https://localhost:" + std::to_string(server->port()) + "/");
  request.method = "GET";
  request.body.clear();
  auto response = Call(*client, request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(server->Requests().at(0).method, "GET");
}

TEST_F(HttpsClientTest, ConnectionRefusedIsUnavailableNamingTheStepAndPeer) {
  const int port = RefusedPort();
  auto client = Client();
  auto response = Call(*client, Post("https://127.0.0.1:" + std::to_string(port) + "/"));
  ASSERT_EQ(response.status().code(), absl::StatusCode::kUnavailable) << response.status();
  EXPECT_THAT(response.status().message(),
              HasSubstr("connect to 127.0.0.1:" + std::to_string(port)));
}

TEST_F(HttpsClientTest, SlowServerIsDeadlineExceededAndTheRequestStillArrived) {
  auto server = StartServer([](const ReceivedRequest&) {
    ServerReply reply;
    reply.delay = absl::Seconds(5);
    return reply;
  });
  auto client = Client();
  auto response = Call(*client, Post(server->Url("/"), absl::Milliseconds(300)));
  ASSERT_EQ(response.status().code(), absl::StatusCode::kDeadlineExceeded) << response.status();
  EXPECT_THAT(response.status().message(), HasSubstr("read response from 127.0.0.1:"));
  EXPECT_TRUE(server->WaitForRequests(1));
}

TEST_F(HttpsClientTest, WrongCaFailsCertificateVerification) {
  auto server = StartServer([](const ReceivedRequest&) { return ServerReply{}; });
  auto client = Client({certs_.other_ca_file, "", ""});
  auto response = Call(*client, Post(server->Url("/")));
  ASSERT_EQ(response.status().code(), absl::StatusCode::kUnavailable) << response.status();
  EXPECT_THAT(response.status().message(), HasSubstr("TLS handshake with 127.0.0.1:"));
  EXPECT_THAT(response.status().message(), HasSubstr("certificate verification failed"));
  EXPECT_TRUE(server->Requests().empty());
}

TEST_F(HttpsClientTest, PresentsTheClientCertificateWhenConfigured) {
  auto server = StartServer([](const ReceivedRequest&) { return ServerReply{}; },
                            /*require_client_cert=*/true);
  auto client = Client({certs_.ca_file, certs_.client_cert_file, certs_.client_key_file});
  auto response = Call(*client, Post(server->Url("/")));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  ASSERT_EQ(server->Requests().size(), 1u);
  EXPECT_TRUE(server->Requests()[0].client_certificate_presented);
}

TEST_F(HttpsClientTest, WithoutTheRequiredClientCertificateTheExchangeFails) {
  auto server = StartServer([](const ReceivedRequest&) { return ServerReply{}; },
                            /*require_client_cert=*/true);
  auto client = Client();
  auto response = Call(*client, Post(server->Url("/")));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable) << response.status();
  EXPECT_TRUE(server->Requests().empty());
}

TEST_F(HttpsClientTest, OversizedResponseBodyFailsWithoutEchoingIt) {
  auto server = StartServer([](const ReceivedRequest&) {
    return ServerReply{200, {}, std::string(kMaxResponseBodyBytes + 1, 'x')};
  });
  auto client = Client();
  auto response = Call(*client, Post(server->Url("/")));
  ASSERT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(response.status().message(), HasSubstr("1024 KiB limit"));
  EXPECT_THAT(response.status().message(), ::testing::Not(HasSubstr("xxxx")));
}

TEST_F(HttpsClientTest, ServerClosingWithoutReplyIsUnavailable) {
  auto server = StartServer([](const ReceivedRequest&) {
    ServerReply reply;
    reply.close_without_reply = true;
    return reply;
  });
  auto client = Client();
  auto response = Call(*client, Post(server->Url("/")));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable) << response.status();
  EXPECT_THAT(response.status().message(), HasSubstr("read response from"));
  EXPECT_EQ(server->Requests().size(), 1u);
}

TEST_F(HttpsClientTest, InvalidUrlOrMethodFailsThroughDone) {
  auto client = Client();
  auto plain = Call(*client, Post("http://127.0.0.1:1/"));
  EXPECT_EQ(plain.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(plain.status().message(), HasSubstr("https://"));
  HttpRequest put = Post("https://127.0.0.1:1/");
  put.method = "PUT";
  EXPECT_EQ(Call(*client, put).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(HttpsClientTest, CreateNamesTheFileThatDoesNotLoad) {
  auto missing = HttpsClient::Create(io_, {dir_.path() + "/nope.crt", "", ""});
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("nope.crt"));
  auto half = HttpsClient::Create(io_, {certs_.ca_file, certs_.client_cert_file, ""});
  EXPECT_EQ(half.status().code(), absl::StatusCode::kInvalidArgument);
  auto mismatched =
      HttpsClient::Create(io_, {certs_.ca_file, certs_.client_cert_file, certs_.server_key_file});
  ASSERT_FALSE(mismatched.ok());
  EXPECT_THAT(mismatched.status().message(), HasSubstr(certs_.server_key_file));
  EXPECT_THAT(mismatched.status().message(), HasSubstr("is it the key of"));
}

TEST_F(HttpsClientTest, DelayedReplyDoesNotHoldUpOthersAndStoppingDoesNotHang) {
  auto server = StartServer([](const ReceivedRequest& request) {
    ServerReply reply;
    if (request.target == "/slow") reply.delay = absl::Hours(1);
    return reply;
  });
  auto client = Client();
  auto slow = std::make_shared<std::promise<absl::StatusOr<HttpResponse>>>();
  auto slow_done = slow->get_future();
  client->Send(Post(server->Url("/slow"), absl::Hours(1)),
               [slow](absl::StatusOr<HttpResponse> r) { slow->set_value(std::move(r)); });
  ASSERT_TRUE(server->WaitForRequests(1));

  auto fast = Call(*client, Post(server->Url("/fast")));
  ASSERT_TRUE(fast.ok()) << fast.status();
  EXPECT_EQ(slow_done.wait_for(std::chrono::seconds(0)), std::future_status::timeout);

  server.reset();  // mid-request for /slow
  ASSERT_EQ(slow_done.wait_for(kBound), std::future_status::ready);
  EXPECT_EQ(slow_done.get().status().code(), absl::StatusCode::kUnavailable);
}

TEST(ParseHttpsUrlTest, SplitsHostPortAndTarget) {
  auto url = ParseHttpsUrl("HTTPS://partner.example.org/hart/in?a=b#x");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "partner.example.org");
  EXPECT_EQ(url->port, 443);
  EXPECT_EQ(url->target, "/hart/in?a=b");

  auto v6 = ParseHttpsUrl("https://[::1]:8443");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 8443);
  EXPECT_EQ(v6->target, "/");

  for (const char* bad : {"http://x/", "https://", "https://:443/", "https://x:0/",
                          "https://x:99999/", "https://x:8a/", "https://u:p@x/",
                          "https://x/a b", "https://x/\r\nHost: y", "https://[::1/"}) {
    EXPECT_EQ(ParseHttpsUrl(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ParseRetryAfterTest, ReadsSecondsAndHttpDates) {
  const absl::Time now = absl::FromUnixSeconds(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  HttpResponse response;
  EXPECT_EQ(ParseRetryAfter(response, now), std::nullopt);
  response.headers["retry-after"] = " 120 ";
  EXPECT_EQ(ParseRetryAfter(response, now), absl::Seconds(120));
  response.headers["retry-after"] = "Sun, 06 Nov 1994 08:50:07 GMT";
  EXPECT_EQ(ParseRetryAfter(response, now), absl::Seconds(30));
  response.headers["retry-after"] = "Sunday, 06-Nov-94 08:51:37 GMT";
  EXPECT_EQ(ParseRetryAfter(response, now), absl::Minutes(2));
  response.headers["retry-after"] = "Sun Nov  6 08:49:47 1994";
  EXPECT_EQ(ParseRetryAfter(response, now), absl::Seconds(10));
  response.headers["retry-after"] = "Sat, 05 Nov 1994 08:49:37 GMT";  // past
  EXPECT_EQ(ParseRetryAfter(response, now), absl::ZeroDuration());
  for (const char* bad : {"soon", "-5", "1.5", "99999999999999999999999"}) {
    response.headers["retry-after"] = bad;
    EXPECT_EQ(ParseRetryAfter(response, now), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace hart::adapters::http
