// The dashboard's sign-in pieces without a server: one-time links,
// sessions and their expiry, who a request comes from, and the CSRF and
// Origin checks of state-changing requests.
#include <gtest/gtest.h>

#include "broker/dashboard/login_links.h"
#include "broker/dashboard/request_auth.h"
#include "broker/dashboard/sessions.h"
#include "tests/support/test_support.h"

namespace hart::dashboard {
namespace {

using ::hart::testing::FakeRandom;

const Identity kSupervisor{Role::kSupervisor, "jane"};

ops::OpsRequest WithCertificate(const std::string& uri) {
  ops::OpsRequest request;
  request.method = "GET";
  request.peer = ops::PeerCertificate{{uri}, "CN=x"};
  return request;
}

ops::OpsRequest WithCookie(const std::string& session_id) {
  ops::OpsRequest request;
  request.method = "GET";
  request.headers["cookie"] = "other=1; " + std::string(kSessionCookie) + "=" + session_id;
  return request;
}

class DashboardAuthTest : public ::testing::Test {
 protected:
  ManualClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  FakeRandom random_;
};

TEST_F(DashboardAuthTest, ALinkWorksOnceForItsIdentity) {
  LoginLinks links(clock_, random_);
  auto link = links.Issue(kSupervisor);
  ASSERT_TRUE(link.ok()) << link.status();
  EXPECT_EQ(link->expires_at, clock_.Now() + absl::Minutes(5));
  auto identity = links.Redeem(link->token);
  ASSERT_TRUE(identity.has_value());
  EXPECT_EQ(identity->ToString(), "supervisor/jane");
  EXPECT_FALSE(links.Redeem(link->token).has_value());
  EXPECT_FALSE(links.Redeem("made-up").has_value());
}

TEST_F(DashboardAuthTest, AnExpiredLinkIsRefused) {
  LoginLinks links(clock_, random_);
  auto link = links.Issue(kSupervisor);
  ASSERT_TRUE(link.ok());
  clock_.Advance(absl::Minutes(5));
  EXPECT_FALSE(links.Redeem(link->token).has_value());
}

TEST_F(DashboardAuthTest, UnusedLinksAreBounded) {
  LoginLinks links(clock_, random_, absl::Minutes(5), /*max_outstanding=*/2);
  ASSERT_TRUE(links.Issue(kSupervisor).ok());
  ASSERT_TRUE(links.Issue(kSupervisor).ok());
  EXPECT_EQ(links.Issue(kSupervisor).status().code(), absl::StatusCode::kResourceExhausted);
  clock_.Advance(absl::Minutes(6));  // the two expired
  EXPECT_TRUE(links.Issue(kSupervisor).ok());
}

TEST_F(DashboardAuthTest, SessionsEndWhenIdleOrTooOld) {
  Sessions sessions(clock_, random_, {absl::Minutes(30), absl::Hours(8), 16});
  auto idle = sessions.Begin(kSupervisor);
  auto busy = sessions.Begin(kSupervisor);
  ASSERT_TRUE(idle.ok() && busy.ok());
  EXPECT_NE(idle->id, busy->id);
  EXPECT_NE(idle->session.csrf_token, busy->session.csrf_token);
  for (int i = 0; i < 20; ++i) {  // 20 x 25 min > 8 h
    clock_.Advance(absl::Minutes(25));
    if (i == 1) {
      EXPECT_FALSE(sessions.Find(idle->id).has_value()) << "50 min idle";
    }
    if (clock_.Now() - absl::FromUnixSeconds(1'800'000'000) < absl::Hours(8)) {
      EXPECT_TRUE(sessions.Find(busy->id).has_value()) << i;
    }
  }
  EXPECT_FALSE(sessions.Find(busy->id).has_value()) << "past 8 h";
}

TEST_F(DashboardAuthTest, AnEndedSessionIsGone) {
  Sessions sessions(clock_, random_);
  auto session = sessions.Begin(kSupervisor);
  ASSERT_TRUE(session.ok());
  sessions.End(session->id);
  EXPECT_FALSE(sessions.Find(session->id).has_value());
}

TEST_F(DashboardAuthTest, NoIdentityIsUnauthenticated) {
  Sessions sessions(clock_, random_);
  EXPECT_EQ(Authenticate(ops::OpsRequest{}, sessions).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Authenticate(WithCookie("forged"), sessions).status().code(),
            absl::StatusCode::kUnauthenticated);
  // A certificate without an identity URI names nobody.
  EXPECT_EQ(Authenticate(WithCertificate("https://example.org/x"), sessions).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(DashboardAuthTest, OnlySupervisorsAreLetIn) {
  Sessions sessions(clock_, random_);
  auto agency = Authenticate(WithCertificate("spiffe://hart.ct.gov/agency/ct-state-police"),
                             sessions);
  EXPECT_EQ(agency.status().code(), absl::StatusCode::kPermissionDenied);
  auto auditor = Authenticate(WithCertificate("spiffe://hart.ct.gov/auditor/a"), sessions);
  EXPECT_EQ(auditor.status().code(), absl::StatusCode::kPermissionDenied);
  auto supervisor = Authenticate(WithCertificate("spiffe://hart.ct.gov/supervisor/jane"), sessions);
  ASSERT_TRUE(supervisor.ok()) << supervisor.status();
  EXPECT_EQ(supervisor->identity.ToString(), "supervisor/jane");
  EXPECT_FALSE(supervisor->session.has_value());
}

TEST_F(DashboardAuthTest, ASessionCookieNamesItsSupervisor) {
  Sessions sessions(clock_, random_);
  auto session = sessions.Begin(kSupervisor);
  ASSERT_TRUE(session.ok());
  auto caller = Authenticate(WithCookie(session->id), sessions);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->identity.ToString(), "supervisor/jane");
  ASSERT_TRUE(caller->session.has_value());
  EXPECT_EQ(caller->session->csrf_token, session->session.csrf_token);
  // Another supervisor's certificate does not take over jane's session.
  ops::OpsRequest both = WithCookie(session->id);
  both.peer = ops::PeerCertificate{{"spiffe://hart.ct.gov/supervisor/joe"}, ""};
  auto joe = Authenticate(both, sessions);
  ASSERT_TRUE(joe.ok());
  EXPECT_EQ(joe->identity.ToString(), "supervisor/joe");
  EXPECT_FALSE(joe->session.has_value());
}

TEST_F(DashboardAuthTest, StateChangesNeedTheCsrfTokenAndTheOwnOrigin) {
  Sessions sessions(clock_, random_);
  auto session = sessions.Begin(kSupervisor);
  ASSERT_TRUE(session.ok());
  ops::OpsRequest post = WithCookie(session->id);
  post.method = "POST";
  post.headers["host"] = "127.0.0.1:9444";
  post.headers["origin"] = "https://127.0.0.1:9444";
  post.headers[kCsrfHeader] = session->session.csrf_token;
  auto caller = Authenticate(post, sessions);
  ASSERT_TRUE(caller.ok());
  EXPECT_TRUE(CheckStateChange(post, *caller).ok());

  ops::OpsRequest wrong_token = post;
  wrong_token.headers[kCsrfHeader] = "guess";
  EXPECT_EQ(CheckStateChange(wrong_token, *caller).code(), absl::StatusCode::kPermissionDenied);
  ops::OpsRequest no_token = post;
  no_token.headers.erase(kCsrfHeader);
  EXPECT_EQ(CheckStateChange(no_token, *caller).code(), absl::StatusCode::kPermissionDenied);
  ops::OpsRequest other_site = post;
  other_site.headers["origin"] = "https://evil.example";
  EXPECT_EQ(CheckStateChange(other_site, *caller).code(), absl::StatusCode::kPermissionDenied);
  ops::OpsRequest no_origin = post;
  no_origin.headers.erase("origin");
  EXPECT_EQ(CheckStateChange(no_origin, *caller).code(), absl::StatusCode::kPermissionDenied);
  // A certificate alone (no session) has no token to match.
  Caller certificate_only{kSupervisor, std::nullopt};
  EXPECT_EQ(CheckStateChange(post, certificate_only).code(), absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace hart::dashboard
