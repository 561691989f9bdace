// The push adapters through the real binary and the Connecticut config,
// each partner a real server on 127.0.0.1 started here: the Stamford PD
// webhook gets a signed POST and acknowledges through the broker's HTTPS
// ack endpoint with its ack token; the NCMEC stand-in ends with one
// finished report whose id shows in GetReferral; the region 6 HART lead
// gets an e-mail without PII; the Litchfield CAC's file drop gets a file and
// its .ack file is recorded as the acknowledgement. Supervisors see every
// push destination's health.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <future>

#include "absl/strings/str_replace.h"
#include "adapters/common/adapter_io.h"
#include "adapters/http/https_client.h"
#include "broker/common/time_util.h"
#include "google/protobuf/util/json_util.h"
#include "tests/e2e/broker_process.h"
#include "tests/support/https_test_server.h"
#include "tests/support/ncmec_stand_in.h"
#include "tests/support/smtp_test_server.h"
#include "tests/support/test_certificates.h"

namespace hart::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// The Connecticut config with the placeholders of the push partners pointed
// at this test's servers.
std::string PartnerConfig(const std::string& dir, const std::map<std::string, std::string>& edits) {
  std::string yaml = ReadText(SourcePath("deploy/config/connecticut.yaml"));
  for (const auto& [from, to] : edits) {
    EXPECT_THAT(yaml, HasSubstr(from)) << "the Connecticut config changed; update this test";
    yaml = absl::StrReplaceAll(yaml, {{from, to}});
  }
  const std::string path = dir + "/connecticut-test.yaml";
  std::ofstream(path) << yaml;
  return path;
}

void WriteSecret(const std::string& path, const std::string& content) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << content << "\n";
  ::chmod(path.c_str(), 0600);
  ::chmod(std::filesystem::path(path).parent_path().c_str(), 0700);
}

v1::Receipt Submit(const BrokerProcess& broker, const v1::Intake& intake) {
  v1::SubmitIntakeRequest request;
  *request.mutable_intake() = intake;
  v1::SubmitIntakeResponse response;
  const grpc::Status status =
      broker.Intake()->SubmitIntake(CallContext().get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.receipt();
}

std::string DeliveryTo(const v1::Receipt& receipt, const std::string& agency) {
  for (const auto& d : receipt.destinations()) {
    if (d.agency_id() == agency) return d.delivery_id();
  }
  ADD_FAILURE() << "no delivery to " << agency;
  return "";
}

v1::ReferralStatus GetReferral(const BrokerProcess& broker, const std::string& referral_id) {
  v1::GetReferralRequest request;
  request.set_referral_id(referral_id);
  v1::ReferralStatus status;
  EXPECT_TRUE(broker.Supervisor()->GetReferral(CallContext().get(), request, &status).ok());
  return status;
}

std::optional<v1::DeliveryStatus> DeliveryStatusOf(const BrokerProcess& broker,
                                                   const std::string& referral_id,
                                                   const std::string& delivery_id) {
  const v1::ReferralStatus referral = GetReferral(broker, referral_id);
  for (const auto& d : referral.deliveries()) {
    if (d.delivery_id() == delivery_id) return d;
  }
  return std::nullopt;
}

bool WaitForState(const BrokerProcess& broker, const std::string& referral_id,
                  const std::string& delivery_id, v1::DeliveryState state) {
  return WaitFor(
      [&] {
        auto d = DeliveryStatusOf(broker, referral_id, delivery_id);
        return d && d->state() == state;
      },
      std::chrono::seconds(30));
}

// POSTs an acknowledgement to the broker's ack endpoint as a partner would.
absl::StatusOr<adapters::http::HttpResponse> PostAck(const std::string& url,
                                                     const std::string& body,
                                                     const std::string& method = "POST") {
  adapters::AdapterIo io(1);
  adapters::http::TlsClientOptions tls;
  tls.ca_file = DevCertsDir() + "/ca.crt";
  auto client = adapters::http::HttpsClient::Create(io, tls);
  if (!client.ok()) return client.status();
  adapters::http::HttpRequest request;
  request.method = method;
  request.url = url;
  request.headers["Content-Type"] = "application/json";
  request.body = body;
  request.timeout = absl::Seconds(10);
  std::promise<absl::StatusOr<adapters::http::HttpResponse>> answered;
  (*client)->Send(request, [&](absl::StatusOr<adapters::http::HttpResponse> response) {
    answered.set_value(std::move(response));
  });
  auto future = answered.get_future();
  if (future.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    return absl::DeadlineExceededError("no answer from the ack endpoint");
  }
  return future.get();
}

class PushAdaptersE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.path() + "/partner-certs");
    auto certs = MakeTestCertificates(dir_.path() + "/partner-certs");
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = *certs;
  }

  TempDir dir_;
  TestCertificates certs_;
};

TEST_F(PushAdaptersE2ETest, WebhookAndNcmecDeliverAndTheWebhookPartnerAcknowledgesWithItsToken) {
  auto webhook = HttpsTestServer::Start(
      {certs_.server_cert_file, certs_.server_key_file, ""},
      [](const ReceivedRequest&) { return ServerReply{200, {}, "{}"}; });
  ASSERT_TRUE(webhook.ok()) << webhook.status();
  auto ncmec = NcmecStandIn::Start({certs_.server_cert_file, certs_.server_key_file});
  ASSERT_TRUE(ncmec.ok()) << ncmec.status();

  const std::string data = dir_.path() + "/data";
  WriteSecret(data + ".keys/ncmec-credentials", (*ncmec)->credentials());
  const std::string config = PartnerConfig(
      dir_.path(),
      {{"url: \"https://127.0.0.1:8602/hart/referrals\"",
        "url: \"" + (*webhook)->Url("/hart/referrals") + "\"\n        ca_file: " +
            certs_.ca_file},
       {"base_url: \"https://127.0.0.1:8601/ispws\"",
        "base_url: \"" + (*ncmec)->base_url() + "\"\n        ca_file: " + certs_.ca_file}});
  BrokerProcess broker(data, config);
  ASSERT_TRUE(broker.running());

  v1::Intake intake = LoadIntake("missing-from-foster-care-new-haven");
  intake.mutable_child()->set_town("Stamford");
  // Received now, so no deadline has passed yet (no escalation notices).
  *intake.mutable_received_at() = ToProtoTime(absl::Now() - absl::Minutes(5));
  *intake.mutable_missing()->mutable_missing_since() = ToProtoTime(absl::Now() - absl::Hours(10));
  const v1::Receipt receipt = Submit(broker, intake);
  const std::string to_police = DeliveryTo(receipt, "stamford-pd");
  const std::string to_ncmec = DeliveryTo(receipt, "ncmec");

  // The webhook partner got the signed POST of its view.
  std::optional<ReceivedRequest> found;
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& request : (*webhook)->Requests()) {
          if (request.headers.count("idempotency-key") &&
              request.headers.at("idempotency-key") == to_police) {
            found = request;
          }
        }
        return found.has_value();
      },
      std::chrono::seconds(30)));
  const ReceivedRequest post = *found;
  EXPECT_EQ(post.headers.at("idempotency-key"), to_police);
  EXPECT_THAT(post.headers.at("x-hart-signature"), StartsWith("t="));
  v1::ReferralDelivery message;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(post.body, &message).ok());
  EXPECT_EQ(message.delivery_id(), to_police);
  EXPECT_EQ(message.referral().intake().child().given_name(), "Alex");
  ASSERT_FALSE(message.ack_token().empty());
  ASSERT_THAT(message.ack_url(), StartsWith("https://127.0.0.1:"));
  ASSERT_TRUE(WaitForState(broker, receipt.referral_id(), to_police, v1::DELIVERED));

  // A forged token is refused and changes nothing.
  auto forged = PostAck(message.ack_url(), "{\"deliveryId\": \"" + to_police +
                                               "\", \"ackToken\": \"v1.forged\", "
                                               "\"kind\": \"ACCEPTED\"}");
  ASSERT_TRUE(forged.ok()) << forged.status();
  EXPECT_EQ(forged->status, 403);
  EXPECT_EQ(DeliveryStatusOf(broker, receipt.referral_id(), to_police)->state(), v1::DELIVERED);
  // Nor does its token acknowledge another delivery.
  auto moved = PostAck(message.ack_url(), "{\"deliveryId\": \"" + to_ncmec +
                                              "\", \"ackToken\": \"" + message.ack_token() +
                                              "\", \"kind\": \"ACCEPTED\"}");
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(moved->status, 403);

  auto accepted = PostAck(message.ack_url(), "{\"deliveryId\": \"" + to_police +
                                                 "\", \"ackToken\": \"" + message.ack_token() +
                                                 "\", \"kind\": \"ACCEPTED\"}");
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(accepted->status, 200) << accepted->body;
  EXPECT_THAT(accepted->body, HasSubstr("ACKNOWLEDGED"));
  // HTTP's own answers for the wrong method and a body over the limit.
  auto fetched = PostAck(message.ack_url(), "", "GET");
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(fetched->status, 405) << fetched->body;
  auto huge = PostAck(message.ack_url(), std::string(17 << 10, ' '));  // the limit is 16 KiB
  ASSERT_TRUE(huge.ok()) << huge.status();
  EXPECT_EQ(huge->status, 413) << huge->body;

  // NCMEC: one finished report, its id on the delivery.
  ASSERT_TRUE(WaitForState(broker, receipt.referral_id(), to_ncmec, v1::DELIVERED));
  const auto reports = (*ncmec)->Reports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_TRUE(reports[0].finished);
  EXPECT_EQ(reports[0].reporter_reference, to_ncmec);
  // NCMEC's view: the missing child's facts, not the narrative nor the reporter.
  EXPECT_THAT(reports[0].xml, HasSubstr("Alex"));
  EXPECT_THAT(reports[0].xml, Not(HasSubstr(intake.concern().narrative().substr(0, 30))));
  EXPECT_THAT(reports[0].xml, Not(HasSubstr(intake.reporter().name())));

  const auto police = DeliveryStatusOf(broker, receipt.referral_id(), to_police);
  ASSERT_TRUE(police.has_value());
  EXPECT_EQ(police->state(), v1::ACKNOWLEDGED);
  ASSERT_FALSE(police->acks().empty());
  EXPECT_EQ(police->acks().rbegin()->actor(), "agency/stamford-pd via ack-token");
  EXPECT_EQ(police->adapter(), "webhook");
  EXPECT_EQ(police->adapter_health().state(), v1::AdapterHealth::UP);
  const auto to_nc = DeliveryStatusOf(broker, receipt.referral_id(), to_ncmec);
  EXPECT_EQ(to_nc->transport_ref(), "ncmec:" + reports[0].report_id);
  EXPECT_EQ(to_nc->adapter_health().state(), v1::AdapterHealth::UP);
}

TEST_F(PushAdaptersE2ETest, TheRegionSixLeadGetsAnEmailWithoutPiiAndHealthShowsEveryPushPartner) {
  SmtpTestServerOptions smtp_options;
  smtp_options.cert_file = certs_.server_cert_file;
  smtp_options.key_file = certs_.server_key_file;
  auto smtp = SmtpTestServer::Start(smtp_options);
  ASSERT_TRUE(smtp.ok()) << smtp.status();
  const std::string data = dir_.path() + "/data";
  const std::string config = PartnerConfig(
      dir_.path(), {{"smtp_port: 2587", "smtp_port: " + std::to_string((*smtp)->port()) +
                                            "\n        ca_file: " + certs_.ca_file}});
  BrokerProcess broker(data, config);
  ASSERT_TRUE(broker.running());

  v1::Intake intake = LoadIntake("missing-from-foster-care-new-haven");
  intake.mutable_child()->set_town("Cheshire");
  const v1::Receipt receipt = Submit(broker, intake);
  const std::string to_lead = DeliveryTo(receipt, "hart-lead-region-6");
  ASSERT_TRUE((*smtp)->WaitForMessages(1, absl::Seconds(30)));
  const ReceivedMail mail = (*smtp)->messages().front();
  EXPECT_TRUE(mail.tls);
  EXPECT_THAT(mail.data, HasSubstr(receipt.referral_id()));
  for (const std::string& pii : {intake.child().given_name(), intake.child().family_name(),
                                 intake.reporter().name(), intake.reporter().phone(),
                                 intake.child().dcf_case_id(),
                                 intake.concern().narrative().substr(0, 20)}) {
    EXPECT_THAT(mail.data, Not(HasSubstr(pii)));
  }
  ASSERT_TRUE(WaitForState(broker, receipt.referral_id(), to_lead, v1::DELIVERED));

  v1::ListAdapterHealthResponse health;
  ASSERT_TRUE(broker.Supervisor()
                  ->ListAdapterHealth(CallContext().get(), v1::ListAdapterHealthRequest(), &health)
                  .ok());
  std::map<std::string, v1::AdapterHealth> by_agency;
  for (const auto& h : health.adapters()) by_agency[h.agency_id()] = h;
  ASSERT_EQ(by_agency.count("hart-lead-region-6"), 1u);
  EXPECT_EQ(by_agency["hart-lead-region-6"].adapter(), "email");
  EXPECT_EQ(by_agency["hart-lead-region-6"].state(), v1::AdapterHealth::UP);
  EXPECT_EQ(by_agency["stamford-pd"].adapter(), "webhook");
  EXPECT_EQ(by_agency["ncmec"].adapter(), "ncmec");
  EXPECT_EQ(by_agency["cac-litchfield"].adapter(), "file_drop");
  EXPECT_EQ(by_agency.count("hartford-pd"), 0u);  // a feed, not a push partner

  // The same, as a supervisor reads it on the command line.
  const CommandOutput table =
      RunHartctl("--target 127.0.0.1:" + std::to_string(broker.port()) + " adapters");
  EXPECT_EQ(table.exit_code, 0) << table.text;
  EXPECT_THAT(table.text, HasSubstr("hart-lead-region-6"));
  EXPECT_THAT(table.text, HasSubstr("cac-litchfield"));
  const CommandOutput status = RunHartctl("--target 127.0.0.1:" + std::to_string(broker.port()) +
                                          " status " + receipt.referral_id());
  EXPECT_EQ(status.exit_code, 0) << status.text;
  EXPECT_THAT(status.text, HasSubstr("email (UP)"));
  EXPECT_THAT(status.text, HasSubstr("smtp:"));
}

TEST_F(PushAdaptersE2ETest, AFileDropPartnersAckFileIsRecordedAsItsAcknowledgement) {
  const std::string data = dir_.path() + "/data";
  const std::string config =
      PartnerConfig(dir_.path(), {{"ack_poll_interval: 5s", "ack_poll_interval: 0.2s"}});
  BrokerProcess broker(data, config);
  ASSERT_TRUE(broker.running());

  v1::Intake intake = LoadIntake("school-sex-trafficking-hartford");
  intake.mutable_child()->set_town("Hartland");
  const v1::Receipt receipt = Submit(broker, intake);
  const std::string to_cac = DeliveryTo(receipt, "cac-litchfield");
  const std::string drop = data + "/file-drop/cac-litchfield/";
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(drop + to_cac + ".json"); },
                      std::chrono::seconds(30)));
  EXPECT_TRUE(std::filesystem::exists(drop + to_cac + ".json.sig"));
  ASSERT_TRUE(WaitForState(broker, receipt.referral_id(), to_cac, v1::DELIVERED));

  {
    std::ofstream(drop + ".ack.tmp") << "{\"kind\": \"ACCEPTED\", \"note\": \"intake scheduled\"}";
  }
  std::filesystem::rename(drop + ".ack.tmp", drop + to_cac + ".json.ack");
  ASSERT_TRUE(WaitForState(broker, receipt.referral_id(), to_cac, v1::ACKNOWLEDGED));
  EXPECT_TRUE(WaitFor([&] { return std::filesystem::exists(drop + to_cac + ".json.ack.done"); },
                      std::chrono::seconds(10)));
  const auto cac = DeliveryStatusOf(broker, receipt.referral_id(), to_cac);
  ASSERT_TRUE(cac.has_value());
  EXPECT_EQ(cac->acks().rbegin()->actor(), "agency/cac-litchfield via file_drop");
}

}  // namespace
}  // namespace hart::testing
