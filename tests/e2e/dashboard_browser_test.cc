// The supervisors' dashboard in a real browser (Debian's headless
// Chromium) against the real hart-broker: refused without an identity and
// with an agency's certificate,
// signed in by a `hartctl dashboard` link, a seeded overdue referral in the
// list, an escalation appearing live without a reload, and a dead letter
// redelivered from the page (checked with `hartctl status` and the audit
// log), and the federal 24-hour report read by keyboard alone, its chart
// drawn. Screenshots go to <build>/screenshots/.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <iostream>
#include <memory>
#include <regex>
#include <string>

#include "absl/strings/str_cat.h"
#include "broker/common/time_util.h"
#include "hart/referral/v1/audit.grpc.pb.h"
#include "tests/e2e/broker_process.h"
#include "tests/e2e/fast_policy.h"
#include "tests/store/status_assertions.h"
#include "tests/support/cdp_client_certificate.h"
#include "tests/support/cdp_page.h"
#include "tests/support/headless_chromium.h"

namespace hart::testing {
namespace {

using ::hart::testing::cdp::CdpPage;
using ::hart::testing::cdp::ClientCertificateStandIn;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::IsSupersetOf;

v1::Receipt Submit(const BrokerProcess& broker, const v1::Intake& intake) {
  v1::SubmitIntakeRequest request;
  *request.mutable_intake() = intake;
  v1::SubmitIntakeResponse response;
  const grpc::Status status =
      broker.Intake()->SubmitIntake(CallContext().get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.receipt();
}

class DashboardBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::make_unique<BrokerProcess>(dir_.path() + "/data", WriteFastPolicy(dir_.path(), {.max_retry_duration = "1s"}));
    ASSERT_TRUE(broker_->running());
    ASSERT_OK_AND_ASSIGN(const std::string spki, SpkiHash(DevCertsDir() + "/broker.crt"));
    ASSERT_OK_AND_ASSIGN(browser_, HeadlessChromium::Start({.accepted_spki_hashes = {spki}}));
    ASSERT_OK_AND_ASSIGN(page_, CdpPage::Open(*browser_));
  }
  void TearDown() override {
    page_.reset();  // before its browser
    if (HasFailure()) {
      // The broker's side of what the browser saw.
      const std::string log = ReadText(dir_.path() + "/data.log");
      std::cerr << "hart-broker log (last 6000 bytes):\n"
                << log.substr(log.size() > 6000 ? log.size() - 6000 : 0) << "\n";
    }
  }

  std::string Url(const std::string& path) const {
    return absl::StrCat("https://127.0.0.1:", broker_->ops_port(), path);
  }
  std::string Hartctl(const std::string& args) const {
    CommandOutput out = RunHartctl(absl::StrCat("--target 127.0.0.1:", broker_->port(), " ", args));
    EXPECT_EQ(out.exit_code, 0) << args << ": " << out.text;
    return out.text;
  }
  // Re-runs `load` (a page function returning a promise) until `selector`'s
  // text contains `text`.
  bool ShowsAfterReloading(const std::string& load, const std::string& selector,
                           const std::string& text) {
    return WaitFor([&] {
      auto shown = page_->Evaluate(absl::StrCat(load, "().then(() => document.querySelector('",
                                                selector, "').textContent)"));
      return shown.ok() && shown->string_value().find(text) != std::string::npos;
    }, std::chrono::seconds(30));
  }

  // Opens the link `hartctl dashboard` makes; the page is ready after.
  void SignIn() {
    std::smatch link;
    const std::string made = Hartctl("dashboard");
    ASSERT_TRUE(std::regex_search(made, link, std::regex(R"(https://\S+/dashboard/login\?token=\S+)")))
        << made;
    ASSERT_OK_AND_ASSIGN(const int status, page_->Navigate(link[0]));
    EXPECT_EQ(status, 200);
    ASSERT_OK(page_->WaitFor("document.body.dataset.ready === 'true'"));
  }
  // Presses Tab until the element `selector` has the focus, at most `limit` times.
  absl::Status TabTo(const std::string& selector, int limit = 80) {
    for (int i = 0; i < limit; ++i) {
      if (auto s = page_->PressKey("Tab"); !s.ok()) return s;
      auto focused = page_->Evaluate(
          absl::StrCat("document.activeElement === document.querySelector(\"", selector, "\")"));
      if (!focused.ok()) return focused.status();
      if (focused->bool_value()) return absl::OkStatus();
    }
    return absl::NotFoundError(absl::StrCat(selector, " never had the focus in ", limit, " Tabs"));
  }

  TempDir dir_;
  std::unique_ptr<BrokerProcess> broker_;
  std::unique_ptr<HeadlessChromium> browser_;
  std::unique_ptr<CdpPage> page_;
};

TEST_F(DashboardBrowserTest, RefusedWithoutAnIdentity) {
  ASSERT_OK_AND_ASSIGN(const int status, page_->Navigate(Url("/dashboard/")));
  EXPECT_EQ(status, 401);
  ASSERT_OK_AND_ASSIGN(auto text, page_->Evaluate("document.body.textContent"));
  EXPECT_THAT(text.string_value(), HasSubstr("hartctl dashboard"));
  ASSERT_OK_AND_ASSIGN(const int forged, page_->Navigate(Url("/dashboard/login?token=forged")));
  EXPECT_EQ(forged, 401);
}

// The browser presenting a client certificate (through the stand-in: see
// cdp_client_certificate.h): an agency's is refused, a supervisor's is let in.
TEST_F(DashboardBrowserTest, RefusedWithAnAgencysCertificateAndLetInWithASupervisors) {
  auto open_as = [&](const std::string& name)
      -> std::pair<std::unique_ptr<ClientCertificateStandIn>, std::unique_ptr<CdpPage>> {
    HttpsTestClientOptions tls;
    tls.ca_file = DevCertsDir() + "/ca.crt";
    tls.cert_file = DevCertsDir() + "/" + name + ".crt";
    tls.key_file = DevCertsDir() + "/" + name + ".key";
    auto stand_in = std::make_unique<ClientCertificateStandIn>(broker_->ops_port(), tls);
    auto page = CdpPage::Open(*browser_, {.on_event = stand_in->EventSink()});
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) return {};
    EXPECT_TRUE(stand_in->Attach(**page).ok());
    return {std::move(stand_in), *std::move(page)};
  };

  auto [agency_certificate, agency] = open_as("agency-hartford-pd");
  ASSERT_NE(agency, nullptr);
  ASSERT_OK_AND_ASSIGN(const int refused, agency->Navigate(Url("/dashboard/")));
  EXPECT_EQ(refused, 403);
  ASSERT_OK_AND_ASSIGN(auto why, agency->Evaluate("document.body.textContent"));
  EXPECT_THAT(why.string_value(), HasSubstr("supervisor"));
  ASSERT_OK_AND_ASSIGN(auto api, agency->Evaluate(
      "fetch('/dashboard/api/overdue').then(r => r.status)"));
  EXPECT_EQ(api.number_value(), 403);
  agency_certificate.reset();  // before its tab

  auto [supervisor_certificate, supervisor] = open_as("supervisor");
  ASSERT_NE(supervisor, nullptr);
  ASSERT_OK_AND_ASSIGN(const int let_in, supervisor->Navigate(Url("/dashboard/")));
  EXPECT_EQ(let_in, 200);
  ASSERT_OK(supervisor->WaitFor(
      "document.getElementById('identity').textContent === 'supervisor/dcf-supervisor'"));
  supervisor_certificate.reset();
}

TEST_F(DashboardBrowserTest, ASupervisorWatchesOverdueReferralsAndRedeliversADeadLetter) {
  // Seeded: a referral nobody acknowledges (overdue in 2 s, then it
  // escalates) and a missing child's, whose NCMEC delivery dies.
  const v1::Receipt overdue = Submit(*broker_, LoadIntake("labor-trafficking-waterbury"));
  v1::Intake missing = LoadIntake("missing-from-foster-care-new-haven");
  *missing.mutable_received_at() = ToProtoTime(absl::Now() - absl::Hours(1));
  *missing.mutable_missing()->mutable_missing_since() = ToProtoTime(absl::Now() - absl::Hours(10));
  const v1::Receipt dead = Submit(*broker_, missing);
  std::string ncmec;
  for (const auto& d : dead.destinations()) {
    if (d.agency_id() == "ncmec") ncmec = d.delivery_id();
  }
  ASSERT_FALSE(ncmec.empty());

  // Signed in by a one-time link.
  ASSERT_NO_FATAL_FAILURE(SignIn());
  ASSERT_OK_AND_ASSIGN(auto who, page_->Evaluate("document.getElementById('identity').textContent"));
  EXPECT_EQ(who.string_value(), "supervisor/dcf-supervisor");
  ASSERT_OK_AND_ASSIGN(auto cookies, page_->Cookies(Url("/dashboard/")));
  ASSERT_EQ(cookies.size(), 1u);
  EXPECT_TRUE(cookies[0].http_only);
  EXPECT_TRUE(cookies[0].secure);
  EXPECT_EQ(cookies[0].same_site, "Strict");
  ASSERT_OK(page_->Evaluate("window.sameDocument = true").status());

  // The overdue referral, by id (no case number in the list).
  ASSERT_TRUE(ShowsAfterReloading("loadOverdue", "#overdue-rows", overdue.referral_id()));
  ASSERT_OK(page_->Screenshot(ScreenshotPath("dashboard-overdue.png"), /*full_page=*/true));

  // Its escalation arrives by itself.
  ASSERT_OK(page_->WaitFor(absl::StrCat("document.getElementById('escalation-rows').textContent"
                                        ".includes('", overdue.referral_id(), "')"),
                           absl::Seconds(30)));
  ASSERT_OK_AND_ASSIGN(auto same, page_->Evaluate("window.sameDocument === true"));
  EXPECT_TRUE(same.bool_value()) << "the page reloaded";

  // The dead letter, redelivered from its referral's page.
  ASSERT_TRUE(ShowsAfterReloading("loadDead", "#dead-rows", dead.referral_id()));
  ASSERT_OK(page_->Click(absl::StrCat("#dead-rows tr[data-referral='", dead.referral_id(), "'] a")));
  const std::string article = absl::StrCat("article[data-delivery='", ncmec, "']");
  ASSERT_OK(page_->WaitFor(absl::StrCat("document.querySelector(\"", article,
                                        "\").textContent.includes('DEAD')")));
  ASSERT_OK(page_->Type(article + " input[name=reason]", "NCMEC endpoint restored"));
  ASSERT_OK(page_->Screenshot(ScreenshotPath("dashboard-referral.png"), /*full_page=*/true));
  ASSERT_OK(page_->Click(article + " form button"));  // its first button: Redeliver
  ASSERT_OK(page_->WaitFor(
      "document.getElementById('status').textContent.startsWith('Redelivered as ')"));
  ASSERT_OK_AND_ASSIGN(auto said, page_->Evaluate("document.getElementById('status').textContent"));
  std::smatch id;
  const std::string status_text = said.string_value();
  ASSERT_TRUE(std::regex_search(status_text, id, std::regex("dlv_[0-9A-Za-z]+"))) << status_text;
  const std::string redelivery = id[0];

  // hartctl sees the new delivery; the audit log has the action, under the
  // supervisor who signed in.
  EXPECT_THAT(Hartctl("status " + dead.referral_id()), HasSubstr(redelivery));
  auto audit = v1::AuditService::NewStub(broker_->Channel("supervisor"));
  v1::ListEventsRequest query;
  query.set_delivery_id(ncmec);
  v1::ListEventsResponse events;
  ASSERT_TRUE(audit->ListEvents(CallContext().get(), query, &events).ok());
  bool audited = false;
  for (const auto& e : events.events()) {
    audited = audited || (e.entry().action() == "delivery.redelivered" &&
                          e.entry().actor() == "supervisor/dcf-supervisor");
  }
  EXPECT_TRUE(audited);
  // Nothing the strict Content-Security-Policy refused, no failed request.
  EXPECT_THAT(page_->ConsoleErrors(), IsEmpty());
}

TEST_F(DashboardBrowserTest, ASupervisorReadsTheFederalReportByKeyboardAndTheReadIsAudited) {
  // A missing child's referral of this month; 24 h have not passed yet.
  v1::Intake missing = LoadIntake("missing-from-foster-care-new-haven");
  *missing.mutable_received_at() = ToProtoTime(absl::Now() - absl::Minutes(1));
  *missing.mutable_missing()->mutable_missing_since() = ToProtoTime(absl::Now() - absl::Hours(10));
  const v1::Receipt receipt = Submit(*broker_, missing);
  ASSERT_NO_FATAL_FAILURE(SignIn());

  // Keyboard only: Tab to the Reports link, Enter, Tab to the form's button, Enter.
  ASSERT_OK(TabTo("nav a[href='#reports']"));
  ASSERT_OK(page_->PressKey("Enter"));
  ASSERT_OK(TabTo("#report-form button[type=submit]"));
  ASSERT_OK(page_->PressKey("Enter"));
  ASSERT_OK(page_->WaitFor(absl::StrCat("document.getElementById('report-view').textContent"
                                        ".includes('", receipt.referral_id(), "')")));
  // The chart's bar for this month: one referral not yet due.
  ASSERT_OK_AND_ASSIGN(auto bar, page_->Evaluate(
      "[...document.querySelectorAll('#report-view svg rect title')]"
      ".some(t => t.textContent.endsWith(': 1 not yet due'))"));
  EXPECT_TRUE(bar.bool_value());
  ASSERT_OK(page_->Evaluate("document.getElementById('reports').scrollIntoView()").status());
  ASSERT_OK(page_->Screenshot(ScreenshotPath("dashboard-report.png"), /*full_page=*/false));

  // The report's read and the sign-in are in the audit log, under the supervisor.
  auto audit = v1::AuditService::NewStub(broker_->Channel("supervisor"));
  v1::ListEventsRequest query;
  query.set_actor("supervisor/dcf-supervisor");
  v1::ListEventsResponse events;
  ASSERT_TRUE(audit->ListEvents(CallContext().get(), query, &events).ok());
  std::vector<std::string> actions;
  for (const auto& e : events.events()) actions.push_back(e.entry().action());
  EXPECT_THAT(actions, IsSupersetOf({"dashboard.signed_in", "report.read"}));
  EXPECT_THAT(page_->ConsoleErrors(), IsEmpty());
}

}  // namespace
}  // namespace hart::testing
