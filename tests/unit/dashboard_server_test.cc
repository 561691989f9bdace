// The dashboard's pages on a real operations server over TLS on 127.0.0.1:
// refused without an identity, a one-time link exchanged for a session
// cookie, a supervisor's certificate let in, the security headers, and the
// embedded assets; every sign-in recorded in the audit log.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "broker/dashboard/dashboard.h"
#include "broker/ops/ops_server.h"
#include "broker/store/store_executor.h"
#include "broker/store/store_factory.h"
#include "tests/support/https_test_client.h"
#include "tests/support/test_certificates.h"
#include "tests/support/test_support.h"

namespace hart::dashboard {
namespace {

using ::hart::testing::FakeRandom;
using ::hart::testing::HttpsTestClient;
using ::hart::testing::HttpsTestClientOptions;
using ::hart::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class DashboardServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto certs = ::hart::testing::MakeTestCertificates(dir_.path());
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = *certs;
    ops::OpsServerSettings settings;
    settings.tls = {certs_.server_cert_file, certs_.server_key_file, certs_.ca_file, ""};
    ops::Router router;
    ASSERT_TRUE(dashboard_.Register(router).ok());
    auto server = ops::OpsServer::Start(settings, std::move(router));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  std::unique_ptr<HttpsTestClient> Connect(bool with_certificate = false) {
    HttpsTestClientOptions options;
    options.ca_file = certs_.ca_file;
    if (with_certificate) {
      options.cert_file = certs_.identity_cert_file;
      options.key_file = certs_.identity_key_file;
    }
    auto client = HttpsTestClient::Connect(server_->port(), options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? std::move(*client) : nullptr;
  }

  // The actions of the audit log's entries under `actor`, oldest first.
  std::vector<std::string> AuditedSignIns(const std::string& actor) {
    auto events = store_->ListAuditEvents({.actor = actor});
    EXPECT_TRUE(events.ok()) << events.status();
    std::vector<std::string> vias;
    for (const AuditEvent& e : events.ok() ? *events : std::vector<AuditEvent>{}) {
      if (e.action == "dashboard.signed_in") vias.push_back(e.detail);
    }
    return vias;
  }

  std::string Origin() const { return absl::StrCat("https://127.0.0.1:", server_->port()); }

  // The path and query of a fresh link.
  std::string NewLinkTarget() {
    auto link = dashboard_.CreateLogin({Role::kSupervisor, "jane"});
    EXPECT_TRUE(link.ok()) << link.status();
    if (!link.ok()) return "";
    EXPECT_THAT(link->first, StartsWith(Origin() + "/dashboard/login?token="));
    return link->first.substr(Origin().size());
  }

  TempDir dir_;
  ::hart::testing::TestCertificates certs_;
  ManualClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  FakeRandom random_;
  std::unique_ptr<ops::OpsServer> server_;
  // A real store for the audit log; these tests read no referral.
  std::unique_ptr<Store> store_ = OpenSqliteStore(dir_.path() + "/store").value();
  StoreExecutor executor_{{.threads = 1, .queue_limit = 8}};
  Dashboard dashboard_{clock_, random_, {.origin = [this] { return Origin(); }},
                       {.executor = &executor_, .store = store_.get()}};
};

TEST_F(DashboardServerTest, NothingWithoutAnIdentity) {
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  for (const char* target : {"/dashboard/", "/dashboard/api/session",
                             "/dashboard/assets/dashboard.js", "/dashboard/login?token=forged",
                             "/dashboard/login"}) {
    auto response = client->Get(target);
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->status, 401) << target;
    EXPECT_EQ(response->headers.count("set-cookie"), 0u) << target;
  }
  auto events = store_->ListAuditEvents({});
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE(events->empty()) << "a refused sign-in records nothing";
}

TEST_F(DashboardServerTest, ALinkSignsInOnceWithAStrictCookie) {
  const std::string target = NewLinkTarget();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  auto login = client->Get(target);
  ASSERT_TRUE(login.ok()) << login.status();
  EXPECT_EQ(login->status, 303);
  EXPECT_EQ(login->headers["location"], "/dashboard/");
  const std::string cookie = login->headers["set-cookie"];
  EXPECT_THAT(cookie, StartsWith(std::string(kSessionCookie) + "="));
  for (const char* attribute : {"; HttpOnly", "; Secure", "; SameSite=Strict", "; Path=/dashboard",
                                "; Max-Age=28800"}) {
    EXPECT_THAT(cookie, HasSubstr(attribute));
  }
  const std::string pair = cookie.substr(0, cookie.find(';'));

  auto page = client->Send("GET", "/dashboard/", "", {{"Cookie", pair}});
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->status, 200);
  EXPECT_THAT(page->headers["content-type"], HasSubstr("text/html"));
  EXPECT_THAT(page->headers["content-security-policy"], HasSubstr("default-src 'self'"));
  EXPECT_THAT(page->body, HasSubstr("aria-live"));

  auto session = client->Send("GET", "/dashboard/api/session", "", {{"Cookie", pair}});
  ASSERT_TRUE(session.ok());
  EXPECT_EQ(session->status, 200);
  EXPECT_THAT(session->body, HasSubstr("\"identity\":\"supervisor/jane\""));
  EXPECT_THAT(session->body, HasSubstr("\"csrfToken\":\""));

  auto again = client->Get(target);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, 401) << "a link works once";
  EXPECT_THAT(AuditedSignIns("supervisor/jane"), ElementsAre("via=login-link"));
}

TEST_F(DashboardServerTest, ASupervisorCertificateGetsASession) {
  auto client = Connect(/*with_certificate=*/true);
  ASSERT_NE(client, nullptr);
  auto session = client->Get("/dashboard/api/session");
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_EQ(session->status, 200);
  EXPECT_THAT(session->body, HasSubstr("supervisor/test-supervisor"));
  EXPECT_THAT(session->headers["set-cookie"], HasSubstr("; HttpOnly"));
  EXPECT_THAT(AuditedSignIns("supervisor/test-supervisor"), ElementsAre("via=client-certificate"));
}

TEST_F(DashboardServerTest, AssetsAndFaviconAreEmbedded) {
  auto client = Connect(/*with_certificate=*/true);
  ASSERT_NE(client, nullptr);
  auto script = client->Get("/dashboard/assets/dashboard.js");
  ASSERT_TRUE(script.ok());
  EXPECT_EQ(script->status, 200);
  EXPECT_THAT(script->headers["content-type"], HasSubstr("text/javascript"));
  EXPECT_THAT(script->body, HasSubstr("EventSource"));
  auto missing = client->Get("/dashboard/assets/nope.js");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);

  auto anonymous = Connect();
  ASSERT_NE(anonymous, nullptr);
  auto icon = anonymous->Get("/favicon.ico");
  ASSERT_TRUE(icon.ok());
  EXPECT_EQ(icon->status, 200);
  EXPECT_EQ(icon->headers["content-type"], "image/svg+xml");
  EXPECT_THAT(icon->body, StartsWith("<svg"));
}

}  // namespace
}  // namespace hart::dashboard
