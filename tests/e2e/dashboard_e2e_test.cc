// The supervisors' dashboard of the real binary over HTTPS: signed in by a
// `hartctl dashboard` link, refused without an identity and to an agency,
// the overdue list (ids and states only) and a referral's audited timeline
// found by its Careline report id, and actions refused without the CSRF
// token, from another Origin or without a reason.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "hart/referral/v1/audit.grpc.pb.h"
#include "tests/e2e/broker_process.h"
#include "tests/e2e/fast_policy.h"
#include "tests/support/https_test_client.h"

namespace hart::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::unique_ptr<HttpsTestClient> Connect(const BrokerProcess& broker,
                                         const std::string& cert_name = "") {
  HttpsTestClientOptions options;
  options.ca_file = DevCertsDir() + "/ca.crt";
  if (!cert_name.empty()) {
    options.cert_file = DevCertsDir() + "/" + cert_name + ".crt";
    options.key_file = DevCertsDir() + "/" + cert_name + ".key";
  }
  auto client = HttpsTestClient::Connect(broker.ops_port(), options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? std::move(*client) : nullptr;
}

// Signs in through `hartctl dashboard`; the session cookie ("name=value").
std::string SignIn(const BrokerProcess& broker, HttpsTestClient& client) {
  CommandOutput link =
      RunHartctl(absl::StrCat("--target 127.0.0.1:", broker.port(), " dashboard"));
  EXPECT_EQ(link.exit_code, 0) << link.text;
  std::smatch match;
  if (!std::regex_search(link.text, match, std::regex(R"(https://[^/\s]+(/dashboard/login\?token=\S+))"))) {
    ADD_FAILURE() << "no link in: " << link.text;
    return "";
  }
  auto login = client.Get(match[1]);
  EXPECT_TRUE(login.ok()) << login.status();
  if (!login.ok()) return "";
  EXPECT_EQ(login->status, 303);
  const std::string cookie = login->headers["set-cookie"];
  return cookie.substr(0, cookie.find(';'));
}

TEST(DashboardE2ETest, RefusedWithoutAnIdentityAndToAnAgency) {
  TempDir dir;
  BrokerProcess broker(dir.path() + "/data");
  ASSERT_TRUE(broker.running());
  auto anonymous = Connect(broker);
  ASSERT_NE(anonymous, nullptr);
  auto page = anonymous->Get("/dashboard/");
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->status, 401);
  auto agency = Connect(broker, "agency-hartford-pd");
  ASSERT_NE(agency, nullptr);
  auto refused = agency->Get("/dashboard/api/overdue");
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ(refused->status, 403);
  // Nor may an agency make itself a link.
  CommandOutput link = RunHartctl(absl::StrCat("--target 127.0.0.1:", broker.port(),
                                               " --as agency-hartford-pd dashboard"));
  EXPECT_NE(link.exit_code, 0);
  EXPECT_THAT(link.text, HasSubstr("PERMISSION_DENIED"));
}

TEST(DashboardE2ETest, ASupervisorSeesOverdueReferralsAndAnAuditedTimeline) {
  TempDir dir;
  BrokerProcess broker(dir.path() + "/data", WriteFastPolicy(dir.path()));
  ASSERT_TRUE(broker.running());
  v1::SubmitIntakeRequest request;
  *request.mutable_intake() = LoadIntake("labor-trafficking-waterbury");
  const std::string report_id = request.intake().careline_report_id();
  v1::SubmitIntakeResponse response;
  ASSERT_TRUE(broker.Intake()->SubmitIntake(CallContext().get(), request, &response).ok());
  const std::string referral_id = response.receipt().referral_id();

  auto client = Connect(broker);
  ASSERT_NE(client, nullptr);
  const std::string cookie = SignIn(broker, *client);
  ASSERT_FALSE(cookie.empty());
  const std::map<std::string, std::string> headers{{"Cookie", cookie}};

  std::string overdue;
  ASSERT_TRUE(WaitFor([&] {
    auto list = client->Send("GET", "/dashboard/api/overdue", "", headers);
    overdue = list.ok() ? list->body : list.status().ToString();
    return list.ok() && list->status == 200 && overdue.find(referral_id) != std::string::npos;
  }, std::chrono::seconds(20))) << overdue;
  EXPECT_THAT(overdue, Not(HasSubstr(report_id))) << "a list shows no case numbers";
  auto filtered = client->Send("GET", "/dashboard/api/overdue?region=1", "", headers);
  ASSERT_TRUE(filtered.ok());
  EXPECT_THAT(filtered->body, Not(HasSubstr(referral_id))) << "Waterbury is region 5";
  auto bad = client->Send("GET", "/dashboard/api/overdue?state=LOST", "", headers);
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 400);
  // Every state the page offers is one the list takes.
  auto page = client->Send("GET", "/dashboard/", "", headers);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->status, 200);
  const std::regex option("<option>([A-Z_]+)</option>");
  int offered = 0;
  for (auto it = std::sregex_iterator(page->body.begin(), page->body.end(), option);
       it != std::sregex_iterator(); ++it, ++offered) {
    auto by_state = client->Send("GET", "/dashboard/api/overdue?state=" + (*it)[1].str(), "",
                                 headers);
    ASSERT_TRUE(by_state.ok());
    EXPECT_EQ(by_state->status, 200) << (*it)[1].str() << ": " << by_state->body;
  }
  EXPECT_GE(offered, 7);  // a referral with any delivery in the state

  // Reports: a bad period is refused with what to fix; a good one answers.
  auto no_period = client->Send("GET", "/dashboard/api/report?kind=ack-times&from=2026-13", "",
                                headers);
  ASSERT_TRUE(no_period.ok());
  EXPECT_EQ(no_period->status, 400);
  EXPECT_THAT(no_period->body, HasSubstr("from: '2026-13' is not a month; write YYYY-MM"));
  const std::string year = absl::FormatTime("%Y", absl::Now(), absl::UTCTimeZone());
  auto annual = client->Send("GET", "/dashboard/api/report?kind=annual&year=" + year, "", headers);
  ASSERT_TRUE(annual.ok());
  EXPECT_EQ(annual->status, 200) << annual->body;
  EXPECT_THAT(annual->body, HasSubstr("\"annualCounts\""));

  auto referral = client->Send("GET", "/dashboard/api/referral?id=" + report_id, "", headers);
  ASSERT_TRUE(referral.ok()) << referral.status();
  EXPECT_EQ(referral->status, 200) << referral->body;
  EXPECT_THAT(referral->body, HasSubstr(referral_id));
  EXPECT_THAT(referral->body, HasSubstr("\"timeline\""));

  // Actions need the session's CSRF token, the page's own Origin and a reason.
  auto session = client->Send("GET", "/dashboard/api/session", "", headers);
  ASSERT_TRUE(session.ok());
  std::smatch token;
  ASSERT_TRUE(std::regex_search(session->body, token, std::regex(R"re("csrfToken":"([^"]+)")re")));
  std::smatch delivery;
  ASSERT_TRUE(std::regex_search(referral->body, delivery, std::regex("dlv_[0-9A-Za-z]+")));
  const std::string ack = absl::StrCat(R"({"deliveryId":")", delivery[0].str(),
                                       R"(","kind":"ACCEPTED","reason":"confirmed by phone"})");
  std::map<std::string, std::string> post{{"Cookie", cookie},
                                          {"Origin", "https://127.0.0.1"},
                                          {"Content-Type", "application/json"}};
  auto no_token = client->Send("POST", "/dashboard/api/acknowledge", ack, post);
  ASSERT_TRUE(no_token.ok());
  EXPECT_EQ(no_token->status, 403);
  post["X-CSRF-Token"] = token[1];
  auto foreign = post;
  foreign["Origin"] = "https://evil.example";
  auto cross_site = client->Send("POST", "/dashboard/api/acknowledge", ack, foreign);
  ASSERT_TRUE(cross_site.ok());
  EXPECT_EQ(cross_site->status, 403);
  auto no_reason = client->Send(
      "POST", "/dashboard/api/acknowledge",
      absl::StrCat(R"({"deliveryId":")", delivery[0].str(), R"(","kind":"ACCEPTED"})"), post);
  ASSERT_TRUE(no_reason.ok());
  EXPECT_EQ(no_reason->status, 400);
  auto bulk_of_nothing = client->Send("POST", "/dashboard/api/redeliver-bulk",
                                      R"({"deliveryIds":[],"reason":"x"})", post);
  ASSERT_TRUE(bulk_of_nothing.ok());
  EXPECT_EQ(bulk_of_nothing->status, 400);
  auto acknowledged = client->Send("POST", "/dashboard/api/acknowledge", ack, post);
  ASSERT_TRUE(acknowledged.ok());
  EXPECT_EQ(acknowledged->status, 200) << acknowledged->body;
  EXPECT_THAT(acknowledged->body, HasSubstr("\"state\":\"ACKNOWLEDGED\""));
  EXPECT_THAT(acknowledged->body, HasSubstr("\"auditIndex\""));

  // The view is an audited read under the supervisor's identity.
  auto audit = v1::AuditService::NewStub(broker.Channel("supervisor"));
  v1::ListEventsRequest query;
  query.set_referral_id(referral_id);
  v1::ListEventsResponse events;
  ASSERT_TRUE(audit->ListEvents(CallContext().get(), query, &events).ok());
  bool audited = false;
  for (const auto& e : events.events()) {
    audited = audited || (e.entry().action() == "referral.read" &&
                          e.entry().actor() == "supervisor/dcf-supervisor");
  }
  EXPECT_TRUE(audited);
}

TEST(DashboardE2ETest, BulkRedeliveryActsOnExactlyTheListedDeadLetters) {
  TempDir dir;
  BrokerProcess broker(dir.path() + "/data",
                       WriteFastPolicy(dir.path(), {.max_retry_duration = "1s"}));
  ASSERT_TRUE(broker.running());
  // Three missing children's referrals: nothing listens at NCMEC's address,
  // so each NCMEC delivery dies. Two are redelivered; the third is not listed.
  std::vector<std::string> referrals, ncmec;
  for (int i = 0; i < 3; ++i) {
    v1::SubmitIntakeRequest request;
    *request.mutable_intake() = LoadIntake("missing-from-foster-care-new-haven");
    request.mutable_intake()->set_careline_report_id(absl::StrCat("CL-BULK-", i));
    v1::SubmitIntakeResponse response;
    ASSERT_TRUE(broker.Intake()->SubmitIntake(CallContext().get(), request, &response).ok());
    referrals.push_back(response.receipt().referral_id());
    for (const auto& d : response.receipt().destinations()) {
      if (d.agency_id() == "ncmec") ncmec.push_back(d.delivery_id());
    }
  }
  ASSERT_EQ(ncmec.size(), 3u);
  auto client = Connect(broker);
  ASSERT_NE(client, nullptr);
  const std::string cookie = SignIn(broker, *client);
  ASSERT_FALSE(cookie.empty());
  std::string dead;
  ASSERT_TRUE(WaitFor([&] {
    auto list = client->Send("GET", "/dashboard/api/dead-letters", "", {{"Cookie", cookie}});
    dead = list.ok() ? list->body : list.status().ToString();
    return std::all_of(referrals.begin(), referrals.end(),
                       [&](const std::string& id) { return dead.find(id) != std::string::npos; });
  }, std::chrono::seconds(30))) << dead;

  auto session = client->Send("GET", "/dashboard/api/session", "", {{"Cookie", cookie}});
  ASSERT_TRUE(session.ok());
  std::smatch token;
  ASSERT_TRUE(std::regex_search(session->body, token, std::regex(R"re("csrfToken":"([^"]+)")re")));
  auto bulk = client->Send(
      "POST", "/dashboard/api/redeliver-bulk",
      absl::StrCat(R"({"deliveryIds":[")", ncmec[0], R"(",")", ncmec[1],
                   R"("],"reason":"NCMEC endpoint restored"})"),
      {{"Cookie", cookie}, {"Origin", "https://127.0.0.1"}, {"Content-Type", "application/json"},
       {"X-CSRF-Token", token[1]}});
  ASSERT_TRUE(bulk.ok());
  EXPECT_EQ(bulk->status, 200) << bulk->body;
  const std::regex redelivered_as("\"newDeliveryId\"");
  EXPECT_EQ(std::distance(std::sregex_iterator(bulk->body.begin(), bulk->body.end(),
                                               redelivered_as),
                          std::sregex_iterator()),
            2) << bulk->body;

  // Exactly the two listed were redelivered, under the supervisor, with the reason.
  auto audit = v1::AuditService::NewStub(broker.Channel("supervisor"));
  for (int i = 0; i < 3; ++i) {
    v1::ListEventsRequest query;
    query.set_delivery_id(ncmec[i]);
    v1::ListEventsResponse events;
    ASSERT_TRUE(audit->ListEvents(CallContext().get(), query, &events).ok());
    int redelivered = 0;
    for (const auto& e : events.events()) {
      if (e.entry().action() == "delivery.redelivered") {
        ++redelivered;
        EXPECT_EQ(e.entry().actor(), "supervisor/dcf-supervisor");
      }
    }
    EXPECT_EQ(redelivered, i < 2 ? 1 : 0) << "delivery " << i;
  }
}

TEST(DashboardE2ETest, EscalationsStreamLiveAndResumeAfterLastEventId) {
  TempDir dir;
  BrokerProcess broker(dir.path() + "/data", WriteFastPolicy(dir.path()));
  ASSERT_TRUE(broker.running());
  auto watcher = Connect(broker);
  ASSERT_NE(watcher, nullptr);
  const std::string cookie = SignIn(broker, *watcher);
  ASSERT_FALSE(cookie.empty());
  auto head = watcher->OpenStream("/dashboard/api/escalations", {{"Cookie", cookie}});
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->headers["content-type"], "text/event-stream");

  // Submitted after the stream opened: its escalations arrive live.
  v1::SubmitIntakeRequest request;
  *request.mutable_intake() = LoadIntake("labor-trafficking-waterbury");
  v1::SubmitIntakeResponse response;
  ASSERT_TRUE(broker.Intake()->SubmitIntake(CallContext().get(), request, &response).ok());
  auto live = watcher->ReadStreamUntil("id: 2\n");
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_THAT(*live, HasSubstr("id: 1\nevent: escalation\ndata: {"));
  EXPECT_THAT(*live, HasSubstr(response.receipt().referral_id()));

  // A reconnecting EventSource sends the last id it saw.
  auto resumed_client = Connect(broker, "supervisor");
  ASSERT_NE(resumed_client, nullptr);
  auto resumed_head = resumed_client->OpenStream("/dashboard/api/escalations",
                                                 {{"Last-Event-ID", "1"}});
  ASSERT_TRUE(resumed_head.ok()) << resumed_head.status();
  EXPECT_EQ(resumed_head->status, 200);
  auto resumed = resumed_client->ReadStreamUntil("id: 2\n");
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_THAT(*resumed, Not(HasSubstr("id: 1\n")));
}

}  // namespace
}  // namespace hart::testing
