#include "adapters/ncmec/ncmec_adapter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <future>

#include "absl/strings/str_cat.h"
#include "absl/strings/substitute.h"
#include "adapters/common/adapter_io.h"
#include "adapters/ncmec/ncmec_responses.h"
#include "adapters/ncmec/report_xml.h"
#include "broker/delivery_content.h"
#include "broker/dispatch/dispatcher.h"
#include "broker/views/stored_delivery_content.h"
#include "broker/views/view_builder.h"
#include "google/protobuf/util/json_util.h"
#include "tests/support/ncmec_stand_in.h"
#include "tests/support/referral_factory.h"
#include "tests/support/test_certificates.h"
#include "tests/support/test_support.h"

namespace hart {
namespace {

using ::hart::adapters::AdapterIo;
using ::hart::adapters::ncmec::CheckReportable;
using ::hart::adapters::ncmec::IncidentType;
using ::hart::adapters::ncmec::NcmecAdapterFactory;
using ::hart::adapters::ncmec::ParseApiResponse;
using ::hart::adapters::ncmec::ParseReportsLookup;
using ::hart::adapters::ncmec::ReportIdFromRef;
using ::hart::testing::ConnecticutConfig;
using ::hart::testing::LoadIntake;
using ::hart::testing::MakeTestCertificates;
using ::hart::testing::NcmecStandIn;
using ::hart::testing::ServerReply;
using ::hart::testing::TempDir;
using ::hart::testing::TestCertificates;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kDeliveryId[] = "dlv_ncmec_test_0001";
constexpr char kReferralId[] = "ref_ncmec_test_0001";

// absl::string_view prints as a list of chars in gMock failures.
std::string Msg(const absl::Status& status) { return std::string(status.message()); }

// The referral as the NCMEC field view of the Connecticut config shows it
// (or, with trim = false, the whole intake).
class FixedContent final : public DeliveryContent {
 public:
  explicit FixedContent(v1::Intake intake) : intake_(std::move(intake)) {}
  absl::StatusOr<v1::ReferralDelivery> Load(const DeliveryRecord& delivery,
                                            bool notification_only) const override {
    v1::ReferralDelivery message;
    message.set_delivery_id(delivery.delivery_id);
    message.set_referral_id(delivery.referral_id);
    message.set_kind(delivery.kind);
    for (const auto& change : delivery.changes) message.add_changes(change);
    v1::ReferralView& view = *message.mutable_referral();
    view.set_referral_id(delivery.referral_id);
    view.set_delivery_id(delivery.delivery_id);
    view.set_agency_id(delivery.agency_id);
    view.set_agency_kind(v1::NCMEC);
    view.set_priority(v1::NORMAL);
    *view.mutable_intake() = trim ? views_.TrimIntake(v1::NCMEC, intake_) : intake_;
    return message;
  }
  bool trim = true;

 private:
  const v1::Intake intake_;
  const ViewBuilder views_{ConnecticutConfig()};
};

google::protobuf::Struct ParseStruct(const std::string& json) {
  google::protobuf::Struct settings;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &settings);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return settings;
}

std::string SettingsJson(const std::string& base_url, const std::string& credentials_file,
                         const std::string& ca_file) {
  return absl::Substitute(R"json({
    "base_url": "$0",
    "credentials_file": "$1",
    "ca_file": "$2",
    "reporter": {"organization_name": "Example State Careline (test)",
                 "email": "careline-desk@dcf.example", "phone": "860-555-0100"}
  })json",
                          base_url, credentials_file, ca_file);
}

// Waits (bounded) for the adapter's one answer.
DeliveryResult DeliverAndWait(Adapter& adapter, const DeliveryRecord& delivery) {
  auto promise = std::make_shared<std::promise<DeliveryResult>>();
  auto answer = promise->get_future();
  adapter.Deliver(delivery, [promise](DeliveryResult r) { promise->set_value(std::move(r)); });
  if (answer.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    ADD_FAILURE() << "the adapter did not answer within 10 s";
    return DeliveryResult::Failed(absl::InternalError("no answer"));
  }
  return answer.get();
}

DeliveryRecord Delivery(uint32_t attempt = 1, std::string transport_ref = "",
                        v1::MessageKind kind = v1::REFERRAL,
                        std::string delivery_id = kDeliveryId) {
  DeliveryRecord d;
  d.delivery_id = std::move(delivery_id);
  d.referral_id = kReferralId;
  d.agency_id = "ncmec";
  d.agency_kind = v1::NCMEC;
  d.adapter_type = "ncmec";
  d.state = v1::IN_FLIGHT;
  d.attempts = attempt;
  d.kind = kind;
  d.transport_ref = std::move(transport_ref);
  return d;
}

ServerReply Reply(int status, std::map<std::string, std::string> headers = {},
                  std::string body = "") {
  ServerReply reply;
  reply.status = status;
  reply.headers = std::move(headers);
  reply.body = std::move(body);
  return reply;
}

class NcmecAdapterTest : public ::testing::Test {
 protected:
  NcmecAdapterTest() : content_(LoadIntake("missing-from-foster-care-new-haven")) {}

  void SetUp() override {
    auto certs = MakeTestCertificates(dir_.path());
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = *certs;
    stand_in_ = StartStandIn();
    ASSERT_NE(stand_in_, nullptr);
    credentials_file_ = WriteSecret("ncmec.credentials", stand_in_->credentials() + "\n");
  }

  std::unique_ptr<NcmecStandIn> StartStandIn(const std::string& password = "stand-in-secret") {
    NcmecStandIn::Options options;
    options.cert_file = certs_.server_cert_file;
    options.key_file = certs_.server_key_file;
    options.password = password;
    auto stand_in = NcmecStandIn::Start(options);
    EXPECT_TRUE(stand_in.ok()) << stand_in.status();
    return stand_in.ok() ? *std::move(stand_in) : nullptr;
  }

  std::string WriteSecret(const std::string& name, const std::string& content) {
    const std::string path = dir_.path() + "/" + name;
    std::ofstream(path) << content;
    ::chmod(path.c_str(), 0600);
    return path;
  }

  std::unique_ptr<Adapter> MakeAdapter(absl::Duration timeout = absl::Seconds(5),
                                       std::string base_url = "", std::string ca_file = "") {
    AdapterContext context;
    context.content = &content_;
    context.timeout = timeout;
    const auto settings = ParseStruct(SettingsJson(
        base_url.empty() ? stand_in_->base_url() : base_url, credentials_file_,
        ca_file.empty() ? certs_.ca_file : ca_file));
    auto adapter = factory_.Create("ncmec", settings, context);
    EXPECT_TRUE(adapter.ok()) << adapter.status();
    return adapter.ok() ? *std::move(adapter) : nullptr;
  }

  TempDir dir_;
  TestCertificates certs_;
  AdapterIo io_{2};
  NcmecAdapterFactory factory_{io_};
  FixedContent content_;
  std::string credentials_file_;
  std::unique_ptr<NcmecStandIn> stand_in_;
};

TEST_F(NcmecAdapterTest, FilesOneFinishedReportAndAnswersWithItsId) {
  auto adapter = MakeAdapter();
  const DeliveryResult result = DeliverAndWait(*adapter, Delivery());

  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_TRUE(result.transport_acknowledged);
  const auto reports = stand_in_->Reports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(result.transport_ref, "ncmec:" + reports[0].report_id);
  EXPECT_TRUE(reports[0].finished);
  EXPECT_EQ(reports[0].reporter_reference, kDeliveryId);
  EXPECT_THAT(stand_in_->CallPaths(), ElementsAre("/status", "/submit", "/finish"));
  for (const auto& request : stand_in_->server().Requests()) {
    ASSERT_TRUE(request.headers.contains("authorization")) << request.target;
    EXPECT_THAT(request.headers.at("authorization"), HasSubstr("Basic ")) << request.target;
  }

  const auto& e = reports[0].elements;
  EXPECT_EQ(e.at("report/incidentSummary/incidentType"), "Child Missing From Care");
  EXPECT_EQ(e.at("report/incidentSummary/incidentDateTime"), "2026-11-20T09:30:00Z");
  EXPECT_EQ(e.at("report/victim/victimPerson/firstName"), "Alex");
  EXPECT_EQ(e.at("report/victim/victimPerson/age"), "15");
  EXPECT_EQ(e.at("report/victim/victimPerson/address/city"), "New Haven");
  EXPECT_EQ(e.at("report/victim/victimPerson/address/state"), "CT");
  EXPECT_EQ(e.at("report/reporter/reportingPerson/email"), "careline-desk@dcf.example");
  EXPECT_EQ(e.at("report/reporter/organizationName"), "Example State Careline (test)");
  EXPECT_THAT(e.at("report/additionalInfo"), HasSubstr("Missing from care: yes, since "
                                                       "2026-11-18T22:00:00Z"));
  EXPECT_THAT(e.at("report/additionalInfo"), HasSubstr("Red flags: RUNAWAY_HISTORY, MULTIPLE_PHONES"));
  // NCMEC's field view has neither the narrative nor the caller.
  EXPECT_THAT(reports[0].xml, Not(HasSubstr("foster parent had not given")));
  EXPECT_THAT(reports[0].xml, Not(HasSubstr("Rivera")));
}

TEST_F(NcmecAdapterTest, EscapesTextSoTheReportStaysWellFormed) {
  v1::Intake intake = LoadIntake("school-sex-trafficking-hartford");
  intake.mutable_child()->set_given_name("Zo\xC3\xAB & <Jo>");
  intake.mutable_child()->set_family_name("O'Brien \"Test\"");
  intake.mutable_concern()->set_narrative("A </report> tag & an <b>unclosed</b> one");
  FixedContent untrimmed(intake);
  untrimmed.trim = false;
  AdapterContext context;
  context.content = &untrimmed;
  auto adapter = factory_.Create(
      "ncmec",
      ParseStruct(SettingsJson(stand_in_->base_url(), credentials_file_, certs_.ca_file)),
      context);
  ASSERT_TRUE(adapter.ok()) << adapter.status();

  const DeliveryResult result = DeliverAndWait(**adapter, Delivery());
  ASSERT_TRUE(result.status.ok()) << result.status;
  const auto reports = stand_in_->Reports();
  ASSERT_EQ(reports.size(), 1u);
  const auto& e = reports[0].elements;
  EXPECT_EQ(e.at("report/incidentSummary/incidentType"), "Child Sex Trafficking");
  EXPECT_EQ(e.at("report/victim/victimPerson/firstName"), "Zo\xC3\xAB & <Jo>");
  EXPECT_EQ(e.at("report/victim/victimPerson/lastName"), "O'Brien \"Test\"");
  EXPECT_EQ(e.at("report/victim/victimPerson/dateOfBirth"), "2010-03-14");
  EXPECT_THAT(e.at("report/additionalInfo"),
              HasSubstr("Narrative: A </report> tag & an <b>unclosed</b> one"));
}

TEST_F(NcmecAdapterTest, WrongCredentialsAreADeadLetterNamingTheFile) {
  auto other = StartStandIn("another-password");
  ASSERT_NE(other, nullptr);
  auto adapter = MakeAdapter(absl::Seconds(5), other->base_url());

  const DeliveryResult result = DeliverAndWait(*adapter, Delivery());
  EXPECT_EQ(result.status.code(), absl::StatusCode::kFailedPrecondition) << result.status;
  EXPECT_THAT(Msg(result.status), HasSubstr("refused the credentials in " + credentials_file_));
  EXPECT_THAT(Msg(result.status), Not(HasSubstr("stand-in-secret")));
  EXPECT_TRUE(other->Reports().empty());
}

TEST_F(NcmecAdapterTest, ConnectionRefusedIsRetried) {
  auto gone = StartStandIn();
  ASSERT_NE(gone, nullptr);
  const std::string url = gone->base_url();
  gone.reset();  // nothing listens there any more
  auto adapter = MakeAdapter(absl::Seconds(5), url);

  const DeliveryResult result = DeliverAndWait(*adapter, Delivery());
  EXPECT_EQ(result.status.code(), absl::StatusCode::kUnavailable) << result.status;
  EXPECT_THAT(Msg(result.status), HasSubstr("GET /status"));
}

TEST_F(NcmecAdapterTest, ServerSlowerThanTheTimeoutIsDeadlineExceeded) {
  stand_in_->DelayNextReply("/finish", absl::Seconds(3));
  auto adapter = MakeAdapter(absl::Milliseconds(400));

  const DeliveryResult result = DeliverAndWait(*adapter, Delivery());
  EXPECT_EQ(result.status.code(), absl::StatusCode::kDeadlineExceeded) << result.status;
  // The report exists: the failure remembers it for the next attempt.
  ASSERT_EQ(stand_in_->Reports().size(), 1u);
  EXPECT_EQ(result.transport_ref, "ncmec:" + stand_in_->Reports()[0].report_id);
}

TEST_F(NcmecAdapterTest, ServerErrorIsRetriedAndTheRetrySucceedsWithOneReport) {
  stand_in_->FailNext("/submit", 1, Reply(500));
  auto adapter = MakeAdapter();

  const DeliveryResult first = DeliverAndWait(*adapter, Delivery(1));
  EXPECT_EQ(first.status.code(), absl::StatusCode::kUnavailable) << first.status;
  EXPECT_THAT(Msg(first.status), HasSubstr("HTTP 500 to POST /submit"));
  EXPECT_TRUE(first.transport_ref.empty());

  const DeliveryResult second = DeliverAndWait(*adapter, Delivery(2));
  ASSERT_TRUE(second.status.ok()) << second.status;
  ASSERT_EQ(stand_in_->Reports().size(), 1u);
  EXPECT_TRUE(stand_in_->Reports()[0].finished);
  EXPECT_EQ(second.transport_ref, "ncmec:" + stand_in_->Reports()[0].report_id);
}

TEST_F(NcmecAdapterTest, ChecksStatusFirstAndAgainOnlyAfterAFailure) {
  auto adapter = MakeAdapter();
  ASSERT_TRUE(DeliverAndWait(*adapter, Delivery(1, "", v1::REFERRAL, "dlv_a")).status.ok());
  ASSERT_TRUE(DeliverAndWait(*adapter, Delivery(1, "", v1::UPDATE, "dlv_b")).status.ok());
  stand_in_->FailNext("/submit", 1, Reply(503));
  EXPECT_FALSE(DeliverAndWait(*adapter, Delivery(1, "", v1::REFERRAL, "dlv_c")).status.ok());
  ASSERT_TRUE(DeliverAndWait(*adapter, Delivery(2, "", v1::REFERRAL, "dlv_c")).status.ok());

  EXPECT_THAT(stand_in_->CallPaths(),
              ElementsAre("/status", "/submit", "/finish",  // dlv_a
                          "/submit", "/finish",             // dlv_b
                          "/submit",                        // dlv_c fails
                          "/status", "/reports", "/submit", "/finish"));
  EXPECT_EQ(stand_in_->Reports().size(), 3u);
}

TEST_F(NcmecAdapterTest, TooManyRequestsHonoursRetryAfter) {
  stand_in_->FailNext("/submit", 1, Reply(429, {{"Retry-After", "120"}}));
  auto adapter = MakeAdapter();

  const DeliveryResult result = DeliverAndWait(*adapter, Delivery());
  EXPECT_EQ(result.status.code(), absl::StatusCode::kResourceExhausted) << result.status;
  ASSERT_TRUE(result.retry_after.has_value());
  EXPECT_EQ(*result.retry_after, absl::Seconds(120));
}

TEST_F(NcmecAdapterTest, BadRequestIsADeadLetterNamingTheResponseCode) {
  stand_in_->FailNext(
      "/submit", 1,
      Reply(400, {}, "<reportResponse><responseCode>1100</responseCode>"
                     "<responseDescription>bad</responseDescription></reportResponse>"));
  auto adapter = MakeAdapter();

  const DeliveryResult result = DeliverAndWait(*adapter, Delivery());
  EXPECT_EQ(result.status.code(), absl::StatusCode::kInvalidArgument) << result.status;
  EXPECT_THAT(Msg(result.status), HasSubstr("responseCode 1100"));
  EXPECT_THAT(Msg(result.status), HasSubstr(kDeliveryId));
  EXPECT_TRUE(stand_in_->Reports().empty());
}

TEST_F(NcmecAdapterTest, NonZeroResponseCodeOnSubmitIsADeadLetter) {
  stand_in_->FailNext("/submit", 1,
                      Reply(200, {}, "<reportResponse><responseCode>1100</responseCode>"
                                     "</reportResponse>"));
  auto adapter = MakeAdapter();

  const DeliveryResult result = DeliverAndWait(*adapter, Delivery());
  EXPECT_EQ(result.status.code(), absl::StatusCode::kInvalidArgument) << result.status;
  EXPECT_THAT(Msg(result.status), HasSubstr("responseCode 1100 to POST /submit"));
}

TEST_F(NcmecAdapterTest, UnknownCertificateAuthorityIsRetriedNamingVerification) {
  auto adapter = MakeAdapter(absl::Seconds(5), "", certs_.other_ca_file);

  const DeliveryResult result = DeliverAndWait(*adapter, Delivery());
  EXPECT_EQ(result.status.code(), absl::StatusCode::kUnavailable) << result.status;
  EXPECT_THAT(Msg(result.status), HasSubstr("certificate verif"));
  EXPECT_TRUE(stand_in_->CallPaths().empty());
}

TEST_F(NcmecAdapterTest, TimeoutThatHidASuccessStillYieldsExactlyOneReport) {
  stand_in_->DelayNextReply("/submit", absl::Seconds(3));
  auto adapter = MakeAdapter(absl::Milliseconds(500));

  const DeliveryResult first = DeliverAndWait(*adapter, Delivery(1));
  EXPECT_EQ(first.status.code(), absl::StatusCode::kDeadlineExceeded) << first.status;
  EXPECT_TRUE(first.transport_ref.empty());  // the report id never arrived
  ASSERT_EQ(stand_in_->Reports().size(), 1u);  // ... but NCMEC made the report
  EXPECT_FALSE(stand_in_->Reports()[0].finished);

  const DeliveryResult second = DeliverAndWait(*adapter, Delivery(2));
  ASSERT_TRUE(second.status.ok()) << second.status;
  const auto reports = stand_in_->Reports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_TRUE(reports[0].finished);
  EXPECT_EQ(second.transport_ref, "ncmec:" + reports[0].report_id);
  EXPECT_EQ(stand_in_->CallCount("/submit"), 1u);
  EXPECT_EQ(stand_in_->CallCount("/reports"), 1u);
}

TEST_F(NcmecAdapterTest, FinishFailureResumesFromTransportRefWithoutASecondSubmit) {
  stand_in_->FailNext("/finish", 1, Reply(503, {{"Retry-After", "30"}}));
  auto adapter = MakeAdapter();

  const DeliveryResult first = DeliverAndWait(*adapter, Delivery(1));
  EXPECT_EQ(first.status.code(), absl::StatusCode::kUnavailable) << first.status;
  ASSERT_EQ(stand_in_->Reports().size(), 1u);
  const std::string ref = "ncmec:" + stand_in_->Reports()[0].report_id;
  EXPECT_EQ(first.transport_ref, ref);
  EXPECT_EQ(first.retry_after, absl::Seconds(30));

  const DeliveryResult second = DeliverAndWait(*adapter, Delivery(2, first.transport_ref));
  ASSERT_TRUE(second.status.ok()) << second.status;
  EXPECT_EQ(second.transport_ref, ref);
  EXPECT_EQ(stand_in_->CallCount("/submit"), 1u);
  EXPECT_EQ(stand_in_->CallCount("/reports"), 0u);
  EXPECT_TRUE(stand_in_->Reports()[0].finished);
}

TEST_F(NcmecAdapterTest, FinishWhoseAnswerWasLostIsRecognisedAsDone) {
  stand_in_->DelayNextReply("/finish", absl::Seconds(3));
  auto adapter = MakeAdapter(absl::Milliseconds(500));
  const DeliveryResult first = DeliverAndWait(*adapter, Delivery(1));
  ASSERT_EQ(first.status.code(), absl::StatusCode::kDeadlineExceeded) << first.status;
  ASSERT_FALSE(first.transport_ref.empty());

  // NCMEC answers "already finished"; the lookup confirms it.
  const DeliveryResult second = DeliverAndWait(*adapter, Delivery(2, first.transport_ref));
  ASSERT_TRUE(second.status.ok()) << second.status;
  EXPECT_EQ(second.transport_ref, first.transport_ref);
  EXPECT_EQ(stand_in_->Reports().size(), 1u);
  EXPECT_EQ(stand_in_->CallCount("/submit"), 1u);
}

TEST_F(NcmecAdapterTest, EscalationAndErasureAreNotReports) {
  auto adapter = MakeAdapter();
  for (v1::MessageKind kind : {v1::ESCALATION, v1::ERASURE}) {
    const DeliveryResult result = DeliverAndWait(*adapter, Delivery(1, "", kind));
    EXPECT_EQ(result.status.code(), absl::StatusCode::kFailedPrecondition) << result.status;
    EXPECT_THAT(Msg(result.status),
                HasSubstr("ncmec adapter sends reports only (delivery kind " +
                          v1::MessageKind_Name(kind) + ")"));
  }
  EXPECT_TRUE(stand_in_->CallPaths().empty());
  EXPECT_TRUE(CheckReportable(v1::REFERRAL).ok());
  EXPECT_TRUE(CheckReportable(v1::UPDATE).ok());
}

TEST_F(NcmecAdapterTest, SettingsAreCheckedStrictly) {
  const std::string good = SettingsJson("https://report.example/ispws", "/x", "");
  EXPECT_TRUE(factory_.ValidateSettings(ParseStruct(good)).ok());
  const auto http = factory_.ValidateSettings(
      ParseStruct(SettingsJson("http://report.example/ispws", "/x", "")));
  EXPECT_EQ(http.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(http), HasSubstr("base_url"));
  const auto unknown = factory_.ValidateSettings(ParseStruct(
      R"({"base_url": "https://r.example", "credentials_file": "/x", "pasword": "p"})"));
  EXPECT_EQ(unknown.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(unknown), HasSubstr("pasword"));
  const auto no_reporter = factory_.ValidateSettings(
      ParseStruct(R"({"base_url": "https://r.example", "credentials_file": "/x"})"));
  EXPECT_THAT(Msg(no_reporter), HasSubstr("reporter.organization_name"));

  AdapterContext context;
  context.content = &content_;
  const auto missing = factory_.Create(
      "ncmec", ParseStruct(SettingsJson(stand_in_->base_url(), dir_.path() + "/absent", "")),
      context);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Msg(missing.status()), HasSubstr(dir_.path() + "/absent"));
  const std::string no_colon = WriteSecret("no-colon", "justaname\n");
  const auto malformed = factory_.Create(
      "ncmec", ParseStruct(SettingsJson(stand_in_->base_url(), no_colon, "")), context);
  EXPECT_THAT(Msg(malformed.status()), HasSubstr("username:password"));
}

TEST(NcmecResponsesTest, ReadsReportResponsesAndLookups) {
  auto submitted = ParseApiResponse(
      "<?xml version=\"1.0\"?><reportResponse><responseCode>0</responseCode>"
      "<responseDescription>Success</responseDescription><reportId>4564</reportId>"
      "</reportResponse>",
      "reportResponse");
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  EXPECT_EQ(submitted->response_code, 0);
  EXPECT_EQ(submitted->report_id, "4564");
  EXPECT_FALSE(ParseApiResponse("<reportResponse><responseCode>x</responseCode></reportResponse>",
                                "reportResponse")
                   .ok());
  EXPECT_FALSE(ParseApiResponse("<html>oops</html>", "reportDoneResponse").ok());

  auto lookup = ParseReportsLookup(
      "<reportsResponse><report><reportId>7</reportId><status>open</status></report>"
      "<report><reportId>8</reportId><status>finished</status></report></reportsResponse>");
  ASSERT_TRUE(lookup.ok()) << lookup.status();
  ASSERT_EQ(lookup->size(), 2u);
  EXPECT_EQ((*lookup)[0].report_id, "7");
  EXPECT_FALSE((*lookup)[0].finished);
  EXPECT_TRUE((*lookup)[1].finished);
  EXPECT_TRUE(ParseReportsLookup("<reportsResponse/>")->empty());

  EXPECT_EQ(ReportIdFromRef("ncmec:4564"), "4564");
  EXPECT_EQ(ReportIdFromRef("feed:ncmec#3"), std::nullopt);
  EXPECT_EQ(ReportIdFromRef("ncmec:45x"), std::nullopt);
}

TEST(NcmecReportTest, IncidentTypeFollowsTheConcern) {
  v1::Intake intake;
  intake.mutable_missing()->set_is_missing(true);
  EXPECT_EQ(IncidentType(intake), "Child Missing From Care");
  intake.mutable_concern()->set_trafficking_type(v1::TraffickingType::SEX_AND_LABOR);
  EXPECT_EQ(IncidentType(intake), "Child Sex Trafficking");
  intake.mutable_missing()->set_is_missing(false);
  intake.mutable_concern()->set_trafficking_type(v1::TraffickingType::LABOR);
  EXPECT_EQ(IncidentType(intake), "Child Labor Trafficking");
}

TEST(NcmecStandInTest, RejectsMalformedReports) {
  using ::hart::testing::ParseReportElements;
  EXPECT_TRUE(ParseReportElements("<report><a>x &amp; y</a></report>").ok());
  EXPECT_EQ(ParseReportElements("<report><a>x &amp; y</a></report>")->at("report/a"), "x & y");
  EXPECT_FALSE(ParseReportElements("<report><a>x</b></report>").ok());
  EXPECT_FALSE(ParseReportElements("<report><a>x & y</a></report>").ok());
  EXPECT_FALSE(ParseReportElements("<report><a>x</a>").ok());
  EXPECT_FALSE(ParseReportElements("<report/><report/>").ok());
}

// The real dispatcher and store: a submit whose answer is lost in a timeout
// is found again on the retry, finished, and stored as the transport_ref.
TEST_F(NcmecAdapterTest, DispatcherDeliversThroughAHiddenSuccessWithOneReport) {
  ManualClock clock(hart::testing::TestNow());
  hart::testing::FakeRandom random;
  std::filesystem::create_directories(dir_.path() + "/store");
  auto store = SqliteStore::Open(dir_.path() + "/store");
  ASSERT_TRUE(store.ok()) << store.status();
  hart::testing::ReferralFactory referrals(**store, clock);
  auto receipt = referrals.Submit(
      hart::testing::ReferralFactory::Example("missing-from-foster-care-new-haven", "-disp"));
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  std::string ncmec_delivery;
  for (const auto& destination : receipt->destinations()) {
    if (destination.agency_id() == "ncmec") ncmec_delivery = destination.delivery_id();
  }
  ASSERT_FALSE(ncmec_delivery.empty());

  const ViewBuilder views(ConnecticutConfig());
  StoreExecutor executor;  // idle once the delivery is settled
  StoredDeliveryContent content(**store, executor, views, nullptr, "");
  AdapterContext context;
  context.content = &content;
  context.clock = &clock;
  context.timeout = absl::Milliseconds(500);
  auto ncmec = factory_.Create(
      "ncmec",
      ParseStruct(SettingsJson(stand_in_->base_url(), credentials_file_, certs_.ca_file)),
      context);
  ASSERT_TRUE(ncmec.ok()) << ncmec.status();

  // Every other agency takes its delivery at once.
  class Instant final : public Adapter {
   public:
    std::string_view type() const override { return "instant"; }
    void Deliver(const DeliveryRecord&, DoneCallback done) override {
      done(DeliveryResult::Delivered("ok"));
    }
  } instant;
  std::map<std::string, Adapter*> adapters;
  for (const auto& agency : ConnecticutConfig().agencies()) adapters[agency.id()] = &instant;
  adapters["ncmec"] = ncmec->get();
  DispatchPolicy policy;
  policy.budget.max_attempts = 3;
  policy.backoff = {absl::Seconds(2), absl::Seconds(60)};
  Dispatcher dispatcher(**store, adapters, clock, random, policy);

  stand_in_->DelayNextReply("/submit", absl::Seconds(3));
  ASSERT_TRUE(dispatcher.RunOnce().ok());
  auto state_of = [&] { return (*store)->GetDelivery(ncmec_delivery).value(); };
  ASSERT_TRUE(hart::testing::WaitFor([&] { return state_of().state == v1::PENDING; }))
      << "state " << v1::DeliveryState_Name(state_of().state);
  EXPECT_THAT(state_of().last_error, HasSubstr("DEADLINE_EXCEEDED"));
  EXPECT_EQ(state_of().transport_ref, "");
  ASSERT_EQ(stand_in_->Reports().size(), 1u);  // made, but its id was lost

  clock.Advance(absl::Minutes(2));
  ASSERT_TRUE(dispatcher.RunOnce().ok());
  ASSERT_TRUE(hart::testing::WaitFor([&] { return state_of().state == v1::DELIVERED; }))
      << "state " << v1::DeliveryState_Name(state_of().state) << " " << state_of().last_error;

  const auto reports = stand_in_->Reports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_TRUE(reports[0].finished);
  EXPECT_EQ(reports[0].reporter_reference, ncmec_delivery);
  EXPECT_EQ(state_of().transport_ref, "ncmec:" + reports[0].report_id);
  EXPECT_EQ(state_of().attempts, 2u);
  EXPECT_EQ(stand_in_->CallCount("/submit"), 1u);
}

}  // namespace
}  // namespace hart
