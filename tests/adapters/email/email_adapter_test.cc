// The email adapter against a real SMTP server on 127.0.0.1 (STARTTLS,
// AUTH, injected failures): what arrives, how failures map to retry or
// dead letter, and that no intake fact ever reaches a notice.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "adapters/common/adapter_io.h"
#include "adapters/email/email_adapter.h"
#include "adapters/email/email_notice.h"
#include "boost/asio/ip/tcp.hpp"
#include "broker/delivery_content.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "tests/support/email_test_certificates.h"
#include "tests/support/smtp_test_server.h"
#include "tests/support/test_support.h"

namespace hart::adapters::email {
namespace {

namespace rv1 = ::hart::referral::v1;
using ::hart::testing::EmailTestCertificates;
using ::hart::testing::LoadIntake;
using ::hart::testing::ReceivedMail;
using ::hart::testing::SmtpTestServer;
using ::hart::testing::SmtpTestServerOptions;
using ::hart::testing::SourcePath;
using ::hart::testing::TempDir;
using ::hart::testing::TestNow;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kAgencyId[] = "cac-test-region";
constexpr char kReferralId[] = "ref_01JD3Q8Z4M7K2XW3B8DQ";
constexpr char kDeliveryId[] = "dlv_01JD3Q8Z4M9T7YV2C5HN";
constexpr char kFrom[] = "hart-broker@dcf.hart.test";
constexpr char kTo[] = "intake-desk@partner.hart.test";
constexpr char kWhereToLook[] = "Open the partner portal: https://portal.hart.test/referrals";
constexpr char kAckUrl[] = "https://acks.hart.test:8443/v1/acks";
constexpr char kAckToken[] = "v1.q3mXo9TVt0a1K2Y6bH8zWfRsuN4dLcE7jP5gQiAVwOk";
constexpr char kUser[] = "cac-mailer";
constexpr char kPassword[] = "correct horse battery staple";

// The broker's message for a delivery, as configured by the test; records
// how it was asked for.
class FakeContent final : public DeliveryContent {
 public:
  absl::StatusOr<rv1::ReferralDelivery> Load(const DeliveryRecord& delivery,
                                             bool notification_only) const override {
    std::lock_guard lock(mu_);
    ++loads_;
    all_notification_only_ = all_notification_only_ && notification_only;
    if (!status_.ok()) return status_;
    return message_;
  }
  void Set(rv1::ReferralDelivery message) {
    std::lock_guard lock(mu_);
    message_ = std::move(message);
  }
  void Fail(absl::Status status) {
    std::lock_guard lock(mu_);
    status_ = std::move(status);
  }
  int loads() const {
    std::lock_guard lock(mu_);
    return loads_;
  }
  bool all_notification_only() const {
    std::lock_guard lock(mu_);
    return all_notification_only_;
  }

 private:
  mutable std::mutex mu_;
  rv1::ReferralDelivery message_;
  absl::Status status_;
  mutable int loads_ = 0;
  mutable bool all_notification_only_ = true;
};

google::protobuf::Timestamp Proto(absl::Time t) {
  return google::protobuf::util::TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(t));
}

DeliveryRecord Record(rv1::MessageKind kind = rv1::REFERRAL) {
  DeliveryRecord d;
  d.delivery_id = kDeliveryId;
  d.referral_id = kReferralId;
  d.agency_id = kAgencyId;
  d.agency_kind = rv1::CAC;
  d.adapter_type = "email";
  d.kind = kind;
  d.ack_deadline = TestNow() + absl::Hours(1);
  return d;
}

// What the broker's DeliveryContent builds for `record`.
rv1::ReferralDelivery MessageFor(const DeliveryRecord& record,
                                 rv1::Priority priority = rv1::URGENT) {
  rv1::ReferralDelivery m;
  m.set_delivery_id(record.delivery_id);
  m.set_referral_id(record.referral_id);
  m.set_kind(record.kind);
  for (const auto& c : record.changes) m.add_changes(c);
  if (record.escalation) *m.mutable_escalation() = *record.escalation;
  if (record.erasure) *m.mutable_erasure() = *record.erasure;
  rv1::ReferralView& view = *m.mutable_referral();
  view.set_referral_id(record.referral_id);
  view.set_delivery_id(record.delivery_id);
  view.set_agency_id(record.agency_id);
  view.set_agency_kind(record.agency_kind);
  view.set_priority(priority);
  *view.mutable_ack_deadline() = Proto(record.ack_deadline);
  if (record.delivery_deadline) *view.mutable_delivery_deadline() = Proto(*record.delivery_deadline);
  m.set_ack_token(kAckToken);
  m.set_ack_url(kAckUrl);
  return m;
}

std::string HeaderValue(const std::string& data, const std::string& name) {
  const std::string headers = data.substr(0, data.find("\r\n\r\n"));
  std::string value;
  bool in_header = false;
  for (absl::string_view line : absl::StrSplit(headers, "\r\n")) {
    if (in_header && !line.empty() && (line.front() == ' ' || line.front() == '\t')) {
      absl::StrAppend(&value, line);
      continue;
    }
    in_header = absl::StartsWithIgnoreCase(line, name + ":");
    if (in_header) value = std::string(absl::StripAsciiWhitespace(line.substr(name.size() + 1)));
  }
  return value;
}

std::string Body(const std::string& data) {
  const size_t blank = data.find("\r\n\r\n");
  return blank == std::string::npos ? "" : data.substr(blank + 4);
}

bool Retryable(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnavailable ||
         s.code() == absl::StatusCode::kDeadlineExceeded ||
         s.code() == absl::StatusCode::kResourceExhausted || s.code() == absl::StatusCode::kAborted;
}

class EmailAdapterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_dir_ = new TempDir();
    auto made = hart::testing::MakeEmailTestCertificates(pki_dir_->path());
    ASSERT_TRUE(made.ok()) << made.status();
    certs_ = new EmailTestCertificates(*made);
  }
  static void TearDownTestSuite() {
    delete certs_;
    delete pki_dir_;
  }

  void StartServer(SmtpTestServerOptions options = {}) {
    options.cert_file = certs_->server_cert_file;
    options.key_file = certs_->server_key_file;
    auto started = SmtpTestServer::Start(std::move(options));
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = *std::move(started);
  }

  // Settings for the running server; tests adjust them.
  google::protobuf::Struct Settings() const {
    google::protobuf::Struct s;
    auto& f = *s.mutable_fields();
    f["smtp_host"].set_string_value("127.0.0.1");
    f["smtp_port"].set_number_value(server_ ? server_->port() : 587);
    f["ca_file"].set_string_value(certs_->ca_file);
    f["from"].set_string_value(kFrom);
    f["to"].mutable_list_value()->add_values()->set_string_value(kTo);
    f["where_to_look"].set_string_value(kWhereToLook);
    return s;
  }

  // A password file the adapter accepts (mode 600).
  std::string PasswordFile(const std::string& password) {
    const std::string path = dir_.path() + "/smtp-password";
    std::ofstream(path) << password << "\n";
    ::chmod(path.c_str(), 0600);
    return path;
  }

  std::unique_ptr<Adapter> MakeAdapter(const google::protobuf::Struct& settings) {
    auto adapter = factory_.Create(kAgencyId, settings, context_);
    EXPECT_TRUE(adapter.ok()) << adapter.status();
    return adapter.ok() ? *std::move(adapter) : nullptr;
  }

  // Delivers and waits (bounded) for the one result.
  DeliveryResult Deliver(Adapter& adapter, const DeliveryRecord& record) {
    auto promise = std::make_shared<std::promise<DeliveryResult>>();
    auto calls = std::make_shared<std::atomic<int>>(0);
    std::future<DeliveryResult> future = promise->get_future();
    adapter.Deliver(record, [promise, calls](DeliveryResult result) {
      if (calls->fetch_add(1) == 0) promise->set_value(std::move(result));
    });
    if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      ADD_FAILURE() << "no delivery result within 10 s";
      return DeliveryResult::Failed(absl::InternalError("test: no result"));
    }
    DeliveryResult result = future.get();
    EXPECT_EQ(calls->load(), 1);
    return result;
  }

  // Sets up the message for `record` and delivers it.
  DeliveryResult DeliverMessage(Adapter& adapter, const DeliveryRecord& record,
                                rv1::Priority priority = rv1::URGENT) {
    content_.Set(MessageFor(record, priority));
    return Deliver(adapter, record);
  }

  static TempDir* pki_dir_;
  static EmailTestCertificates* certs_;
  TempDir dir_;
  std::unique_ptr<SmtpTestServer> server_;
  AdapterIo io_{2};
  FakeContent content_;
  AdapterContext context_{.content = &content_, .timeout = absl::Seconds(5)};
  EmailAdapterFactory factory_{io_};
};

TempDir* EmailAdapterTest::pki_dir_ = nullptr;
EmailTestCertificates* EmailAdapterTest::certs_ = nullptr;

TEST_F(EmailAdapterTest, DeliversANoticeOverStartTls) {
  StartServer();
  auto adapter = MakeAdapter(Settings());
  ASSERT_NE(adapter, nullptr);
  EXPECT_EQ(adapter->type(), "email");

  const DeliveryResult result = DeliverMessage(*adapter, Record());
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_TRUE(result.transport_acknowledged);
  EXPECT_EQ(result.transport_ref, absl::StrCat("smtp:<", kDeliveryId, "@dcf.hart.test>"));
  EXPECT_TRUE(content_.all_notification_only());

  ASSERT_TRUE(server_->WaitForMessages(1, absl::Seconds(10)));
  const ReceivedMail mail = server_->messages().at(0);
  EXPECT_TRUE(mail.tls);
  EXPECT_EQ(mail.authenticated_as, "");
  EXPECT_EQ(mail.ehlo_name, "hart-broker");
  EXPECT_EQ(mail.mail_from, kFrom);
  EXPECT_THAT(mail.rcpt_to, ElementsAre(kTo));

  EXPECT_EQ(HeaderValue(mail.data, "Subject"),
            absl::StrCat("[HART] URGENT referral ", kReferralId, " for ", kAgencyId,
                         " - acknowledge by 2026-11-21 15:00 UTC"));
  EXPECT_EQ(HeaderValue(mail.data, "From"), absl::StrCat("HART referral broker <", kFrom, ">"));
  EXPECT_EQ(HeaderValue(mail.data, "To"), kTo);
  EXPECT_EQ(HeaderValue(mail.data, "Message-ID"), result.transport_ref.substr(5));
  EXPECT_EQ(HeaderValue(mail.data, "MIME-Version"), "1.0");
  EXPECT_EQ(HeaderValue(mail.data, "Content-Type"), "text/plain; charset=utf-8");
  EXPECT_THAT(HeaderValue(mail.data, "Date"), HasSubstr("+0000"));
  EXPECT_EQ(HeaderValue(mail.data, "X-HART-Delivery-Id"), kDeliveryId);

  const std::string body = Body(mail.data);
  EXPECT_THAT(body, AllOf(HasSubstr(kReferralId), HasSubstr(kDeliveryId), HasSubstr(kAgencyId),
                          HasSubstr("URGENT"), HasSubstr("2026-11-21 15:00 UTC"),
                          HasSubstr(kWhereToLook), HasSubstr(kAckUrl), HasSubstr(kAckToken)));
  // CRLF only, no line over SMTP's limit.
  for (absl::string_view line : absl::StrSplit(mail.data, "\r\n")) {
    EXPECT_LE(line.size(), 998u);
    EXPECT_EQ(line.find('\n'), absl::string_view::npos);
    EXPECT_EQ(line.find('\r'), absl::string_view::npos);
  }
  // The client ended the session politely.
  EXPECT_TRUE(hart::testing::WaitFor([&] {
    auto c = server_->commands();
    return !c.empty() && c.back() == "QUIT";
  }));
  EXPECT_THAT(server_->commands(),
              ElementsAre("EHLO", "STARTTLS", "EHLO", "MAIL", "RCPT", "DATA", "QUIT"));
}

TEST_F(EmailAdapterTest, SendsToEveryRecipientAndNamesANormalReferralPlainly) {
  StartServer();
  auto settings = Settings();
  (*settings.mutable_fields())["to"].mutable_list_value()->add_values()->set_string_value(
      "duty-officer@partner.hart.test");
  auto adapter = MakeAdapter(settings);
  ASSERT_NE(adapter, nullptr);
  const DeliveryResult result = DeliverMessage(*adapter, Record(), rv1::NORMAL);
  ASSERT_TRUE(result.status.ok()) << result.status;
  ASSERT_TRUE(server_->WaitForMessages(1, absl::Seconds(10)));
  const ReceivedMail mail = server_->messages().at(0);
  EXPECT_THAT(mail.rcpt_to, ElementsAre(kTo, "duty-officer@partner.hart.test"));
  EXPECT_EQ(HeaderValue(mail.data, "To"), absl::StrCat(kTo, ", duty-officer@partner.hart.test"));
  EXPECT_THAT(HeaderValue(mail.data, "Subject"),
              AllOf(HasSubstr("[HART] Referral "), Not(HasSubstr("URGENT"))));
}

TEST_F(EmailAdapterTest, AuthenticatesWithPlainAfterStartTls) {
  StartServer({.username = kUser, .password = kPassword});
  auto settings = Settings();
  (*settings.mutable_fields())["username"].set_string_value(kUser);
  (*settings.mutable_fields())["password_file"].set_string_value(PasswordFile(kPassword));
  auto adapter = MakeAdapter(settings);
  ASSERT_NE(adapter, nullptr);
  const DeliveryResult result = DeliverMessage(*adapter, Record());
  ASSERT_TRUE(result.status.ok()) << result.status;
  ASSERT_TRUE(server_->WaitForMessages(1, absl::Seconds(10)));
  EXPECT_EQ(server_->messages().at(0).authenticated_as, kUser);
  EXPECT_TRUE(server_->messages().at(0).tls);
}

TEST_F(EmailAdapterTest, AuthenticatesWithLoginWhenPlainIsNotOffered) {
  StartServer({.username = kUser, .password = kPassword, .auth_mechanisms = "LOGIN"});
  auto settings = Settings();
  (*settings.mutable_fields())["username"].set_string_value(kUser);
  (*settings.mutable_fields())["password_file"].set_string_value(PasswordFile(kPassword));
  auto adapter = MakeAdapter(settings);
  ASSERT_NE(adapter, nullptr);
  const DeliveryResult result = DeliverMessage(*adapter, Record());
  ASSERT_TRUE(result.status.ok()) << result.status;
  ASSERT_TRUE(server_->WaitForMessages(1, absl::Seconds(10)));
  EXPECT_EQ(server_->messages().at(0).authenticated_as, kUser);
}

TEST_F(EmailAdapterTest, AWrongPasswordIsADeadLetterNamingThePasswordFile) {
  StartServer({.username = kUser, .password = kPassword});
  auto settings = Settings();
  const std::string password_file = PasswordFile("not the password");
  (*settings.mutable_fields())["username"].set_string_value(kUser);
  (*settings.mutable_fields())["password_file"].set_string_value(password_file);
  auto adapter = MakeAdapter(settings);
  ASSERT_NE(adapter, nullptr);
  const DeliveryResult result = DeliverMessage(*adapter, Record());
  EXPECT_EQ(result.status.code(), absl::StatusCode::kFailedPrecondition) << result.status;
  EXPECT_FALSE(Retryable(result.status));
  EXPECT_THAT(result.status.message(), AllOf(HasSubstr("535"), HasSubstr(password_file)));
  EXPECT_THAT(result.status.message(), Not(HasSubstr("not the password")));
  EXPECT_THAT(server_->messages(), IsEmpty());
}

TEST_F(EmailAdapterTest, ARefusedConnectionIsRetried) {
  uint16_t closed_port = 0;
  {
    // A port that was free a moment ago and has no listener now.
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor probe(
        io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    closed_port = probe.local_endpoint().port();
  }
  auto settings = Settings();
  (*settings.mutable_fields())["smtp_port"].set_number_value(closed_port);
  auto adapter = MakeAdapter(settings);
  ASSERT_NE(adapter, nullptr);
  const DeliveryResult result = DeliverMessage(*adapter, Record());
  EXPECT_EQ(result.status.code(), absl::StatusCode::kUnavailable) << result.status;
  EXPECT_THAT(result.status.message(), AllOf(HasSubstr("connect"), HasSubstr("127.0.0.1")));
}

TEST_F(EmailAdapterTest, ASlowServerRunsIntoTheDeadline) {
  StartServer({.greeting_delay = absl::Seconds(30)});
  context_.timeout = absl::Milliseconds(300);
  auto adapter = MakeAdapter(Settings());
  ASSERT_NE(adapter, nullptr);
  const DeliveryResult result = DeliverMessage(*adapter, Record());
  EXPECT_EQ(result.status.code(), absl::StatusCode::kDeadlineExceeded) << result.status;
  EXPECT_THAT(result.status.message(), HasSubstr("greeting"));
  EXPECT_THAT(server_->messages(), IsEmpty());
}

TEST_F(EmailAdapterTest, ATemporaryRejectionOfDataIsRetriedAndTheRetrySucceeds) {
  StartServer();
  server_->FailNext("DATA", 451);
  auto adapter = MakeAdapter(Settings());
  ASSERT_NE(adapter, nullptr);
  const DeliveryResult first = DeliverMessage(*adapter, Record());
  EXPECT_EQ(first.status.code(), absl::StatusCode::kUnavailable) << first.status;
  EXPECT_THAT(first.status.message(), AllOf(HasSubstr("DATA"), HasSubstr("451")));
  EXPECT_THAT(server_->messages(), IsEmpty());

  const DeliveryResult second = DeliverMessage(*adapter, Record());
  ASSERT_TRUE(second.status.ok()) << second.status;
  ASSERT_TRUE(server_->WaitForMessages(1, absl::Seconds(10)));
  EXPECT_EQ(server_->messages().size(), 1u);
  // Same Message-ID on every attempt: readers can drop repeats.
  EXPECT_EQ(second.transport_ref, absl::StrCat("smtp:<", kDeliveryId, "@dcf.hart.test>"));
}

TEST_F(EmailAdapterTest, ARejectedRecipientIsADeadLetter) {
  StartServer();
  server_->FailNext("RCPT", 550);
  auto adapter = MakeAdapter(Settings());
  ASSERT_NE(adapter, nullptr);
  const DeliveryResult result = DeliverMessage(*adapter, Record());
  EXPECT_FALSE(Retryable(result.status)) << result.status;
  EXPECT_EQ(result.status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(result.status.message(),
              AllOf(HasSubstr("RCPT TO"), HasSubstr(kTo), HasSubstr("rejected: 550")));
  EXPECT_THAT(server_->messages(), IsEmpty());
}

TEST_F(EmailAdapterTest, RejectedContentIsADeadLetterAndATemporaryOneIsRetried) {
  StartServer();
  auto adapter = MakeAdapter(Settings());
  ASSERT_NE(adapter, nullptr);
  server_->FailNext("END_OF_DATA", 554);
  const DeliveryResult refused = DeliverMessage(*adapter, Record());
  EXPECT_EQ(refused.status.code(), absl::StatusCode::kInvalidArgument) << refused.status;
  EXPECT_THAT(refused.status.message(), HasSubstr("554"));
  server_->FailNext("END_OF_DATA", 452);
  const DeliveryResult later = DeliverMessage(*adapter, Record());
  EXPECT_EQ(later.status.code(), absl::StatusCode::kUnavailable) << later.status;
  EXPECT_THAT(server_->messages(), IsEmpty());
}

TEST_F(EmailAdapterTest, AnUnavailableServiceGreetingIsRetried) {
  StartServer();
  server_->FailNext("EHLO", 421);
  auto adapter = MakeAdapter(Settings());
  ASSERT_NE(adapter, nullptr);
  const DeliveryResult result = DeliverMessage(*adapter, Record());
  EXPECT_EQ(result.status.code(), absl::StatusCode::kUnavailable) << result.status;
  EXPECT_THAT(result.status.message(), AllOf(HasSubstr("EHLO"), HasSubstr("421")));
}

TEST_F(EmailAdapterTest, AnUntrustedServerCertificateIsRetriedNamingVerification) {
  StartServer();
  auto settings = Settings();
  (*settings.mutable_fields())["ca_file"].set_string_value(certs_->other_ca_file);
  auto adapter = MakeAdapter(settings);
  ASSERT_NE(adapter, nullptr);
  const DeliveryResult result = DeliverMessage(*adapter, Record());
  EXPECT_EQ(result.status.code(), absl::StatusCode::kUnavailable) << result.status;
  EXPECT_THAT(result.status.message(),
              AllOf(HasSubstr("certificate verification failed"), HasSubstr(certs_->other_ca_file)));
  EXPECT_THAT(server_->messages(), IsEmpty());
  EXPECT_THAT(server_->commands(), Not(::testing::Contains("MAIL")));
}

TEST_F(EmailAdapterTest, AnAddressTheCertificateDoesNotNameFailsVerification) {
  // The certificate names 127.0.0.1 and localhost, not 127.0.0.2.
  StartServer({.listen_address = "127.0.0.2"});
  auto settings = Settings();
  (*settings.mutable_fields())["smtp_host"].set_string_value("127.0.0.2");
  auto adapter = MakeAdapter(settings);
  ASSERT_NE(adapter, nullptr);
  const DeliveryResult result = DeliverMessage(*adapter, Record());
  EXPECT_EQ(result.status.code(), absl::StatusCode::kUnavailable) << result.status;
  EXPECT_THAT(result.status.message(),
              AllOf(HasSubstr("certificate verification failed"), HasSubstr("127.0.0.2")));
  EXPECT_THAT(server_->messages(), IsEmpty());
}

TEST_F(EmailAdapterTest, AServerWithoutStartTlsGetsNothing) {
  StartServer({.offer_starttls = false});
  auto adapter = MakeAdapter(Settings());
  ASSERT_NE(adapter, nullptr);
  const DeliveryResult result = DeliverMessage(*adapter, Record());
  EXPECT_EQ(result.status.code(), absl::StatusCode::kFailedPrecondition) << result.status;
  EXPECT_THAT(result.status.message(), HasSubstr("server 127.0.0.1 does not offer STARTTLS"));
  EXPECT_THAT(server_->messages(), IsEmpty());
  // Nothing but EHLO (and a polite QUIT at most) was said in clear.
  for (const auto& verb : server_->commands()) {
    EXPECT_TRUE(verb == "EHLO" || verb == "QUIT") << verb;
  }
}

TEST_F(EmailAdapterTest, HeaderInjectionThroughAnIdIsRefusedBeforeConnecting) {
  StartServer();
  auto adapter = MakeAdapter(Settings());
  ASSERT_NE(adapter, nullptr);
  DeliveryRecord record = Record();
  record.delivery_id = "dlv_1\r\nBcc: someone@elsewhere.test";
  const DeliveryResult result = DeliverMessage(*adapter, record);
  EXPECT_EQ(result.status.code(), absl::StatusCode::kInvalidArgument) << result.status;
  EXPECT_THAT(result.status.message(), HasSubstr("delivery id"));
  EXPECT_EQ(server_->sessions(), 0u);
}

TEST_F(EmailAdapterTest, AReferralThatIsGoneIsNotRetried) {
  StartServer();
  auto adapter = MakeAdapter(Settings());
  ASSERT_NE(adapter, nullptr);
  content_.Fail(absl::NotFoundError("no referral ref_gone"));
  const DeliveryResult result = Deliver(*adapter, Record());
  EXPECT_EQ(result.status.code(), absl::StatusCode::kNotFound) << result.status;
  EXPECT_THAT(result.status.message(), HasSubstr(kDeliveryId));
  EXPECT_EQ(server_->sessions(), 0u);
}

TEST_F(EmailAdapterTest, AnEscalationReachesTheBackupContactToo) {
  StartServer();
  auto adapter = MakeAdapter(Settings());
  ASSERT_NE(adapter, nullptr);
  DeliveryRecord record = Record(rv1::ESCALATION);
  rv1::EscalationNotice notice;
  notice.set_escalated_delivery_id("dlv_01JD3Q8Z4M00000000ABCD");
  notice.set_escalated_agency_id("pd-test-town");
  notice.set_reason(rv1::ACK_DEADLINE_MISSED);
  notice.set_step(2);
  notice.set_target(rv1::AGENCY_BACKUP_CONTACT);
  notice.set_contact_name("Backup Person");
  notice.set_contact_email("backup@partner.hart.test");
  notice.set_contact_phone("860-555-0000");
  record.escalation = notice;
  const DeliveryResult result = DeliverMessage(*adapter, record);
  ASSERT_TRUE(result.status.ok()) << result.status;
  ASSERT_TRUE(server_->WaitForMessages(1, absl::Seconds(10)));
  const ReceivedMail mail = server_->messages().at(0);
  EXPECT_THAT(mail.rcpt_to, ElementsAre(kTo, "backup@partner.hart.test"));
  EXPECT_THAT(HeaderValue(mail.data, "Subject"),
              AllOf(HasSubstr("ESCALATION step 2"), HasSubstr(kReferralId),
                    HasSubstr("pd-test-town")));
  EXPECT_THAT(Body(mail.data), AllOf(HasSubstr("dlv_01JD3Q8Z4M00000000ABCD"),
                                     HasSubstr("not acknowledged by its deadline")));
}

TEST_F(EmailAdapterTest, AnErasureOrderSaysWhatToErase) {
  StartServer();
  auto adapter = MakeAdapter(Settings());
  ASSERT_NE(adapter, nullptr);
  DeliveryRecord record = Record(rv1::ERASURE);
  rv1::ErasureNotice erasure;
  erasure.set_referral_id(kReferralId);
  erasure.set_court_order_reference("HHD-CV26-0001234\r\nBcc: x@y.test");
  record.erasure = erasure;
  const DeliveryResult result = DeliverMessage(*adapter, record);
  ASSERT_TRUE(result.status.ok()) << result.status;
  ASSERT_TRUE(server_->WaitForMessages(1, absl::Seconds(10)));
  const ReceivedMail mail = server_->messages().at(0);
  EXPECT_EQ(HeaderValue(mail.data, "Subject"),
            absl::StrCat("[HART] ERASE referral ", kReferralId, " for ", kAgencyId,
                         " (sealed by court order)"));
  // The free-text reference is flattened: no line break, no new header.
  EXPECT_THAT(Body(mail.data), HasSubstr("HHD-CV26-0001234??Bcc: x@y.test"));
  EXPECT_EQ(HeaderValue(mail.data, "Bcc"), "");
}

TEST_F(EmailAdapterTest, AnUpdateListsWhatChangedButNoValues) {
  StartServer();
  auto adapter = MakeAdapter(Settings());
  ASSERT_NE(adapter, nullptr);
  DeliveryRecord record = Record(rv1::UPDATE);
  record.changes = {"concern.trafficking_type", "rule:missing-72h"};
  const DeliveryResult result = DeliverMessage(*adapter, record);
  ASSERT_TRUE(result.status.ok()) << result.status;
  ASSERT_TRUE(server_->WaitForMessages(1, absl::Seconds(10)));
  const ReceivedMail mail = server_->messages().at(0);
  EXPECT_THAT(HeaderValue(mail.data, "Subject"), HasSubstr("URGENT update to referral"));
  EXPECT_THAT(Body(mail.data), HasSubstr("concern.trafficking_type, rule:missing-72h"));
}

// --- Settings -------------------------------------------------------------

TEST_F(EmailAdapterTest, SettingsErrorsNameTheSetting) {
  struct Case {
    std::string name;
    std::function<void(google::protobuf::Struct&)> change;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"no host", [](auto& s) { s.mutable_fields()->erase("smtp_host"); }, "smtp_host is required"},
      {"host with a space", [](auto& s) { (*s.mutable_fields())["smtp_host"].set_string_value("mail host"); },
       "smtp_host"},
      {"port too big", [](auto& s) { (*s.mutable_fields())["smtp_port"].set_number_value(70000); },
       "smtp_port"},
      {"no from", [](auto& s) { s.mutable_fields()->erase("from"); }, "from is required"},
      {"display name in from",
       [](auto& s) { (*s.mutable_fields())["from"].set_string_value("HART <hart@dcf.hart.test>"); },
       "from 'HART <hart@dcf.hart.test>'"},
      {"no to", [](auto& s) { s.mutable_fields()->erase("to"); }, "to needs at least one address"},
      {"to without @",
       [](auto& s) {
         (*s.mutable_fields())["to"].mutable_list_value()->add_values()->set_string_value("nobody");
       },
       "to[1] 'nobody' has no '@'"},
      {"to with CRLF",
       [](auto& s) {
         (*s.mutable_fields())["to"].mutable_list_value()->mutable_values(0)->set_string_value(
             "a@b.test\r\nBcc: c@d.test");
       },
       "to[0]"},
      {"username alone", [](auto& s) { (*s.mutable_fields())["username"].set_string_value("u"); },
       "username is set without the other"},
      {"password alone",
       [](auto& s) { (*s.mutable_fields())["password_file"].set_string_value("/tmp/p"); },
       "password_file is set without the other"},
      {"non-ASCII where_to_look",
       [](auto& s) { (*s.mutable_fields())["where_to_look"].set_string_value("Portal \xe2\x80\x94 see"); },
       "where_to_look must be ASCII"},
      {"unknown key", [](auto& s) { (*s.mutable_fields())["smtp_hots"].set_string_value("x"); },
       "smtp_hots"},
  };
  for (const auto& c : cases) {
    auto settings = Settings();
    c.change(settings);
    const absl::Status status = factory_.ValidateSettings(settings);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.name << ": " << status;
    EXPECT_THAT(status.message(), HasSubstr(c.expected)) << c.name;
    EXPECT_FALSE(factory_.Create(kAgencyId, settings, context_).ok()) << c.name;
  }
  EXPECT_TRUE(factory_.ValidateSettings(Settings()).ok());
}

TEST_F(EmailAdapterTest, CreateChecksTheFilesAndNamesThem) {
  auto missing_ca = Settings();
  (*missing_ca.mutable_fields())["ca_file"].set_string_value(dir_.path() + "/no-ca.pem");
  auto created = factory_.Create(kAgencyId, missing_ca, context_);
  EXPECT_EQ(created.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(created.status().message(), HasSubstr(dir_.path() + "/no-ca.pem"));

  auto missing_password = Settings();
  (*missing_password.mutable_fields())["username"].set_string_value(kUser);
  (*missing_password.mutable_fields())["password_file"].set_string_value(dir_.path() + "/no-pw");
  created = factory_.Create(kAgencyId, missing_password, context_);
  EXPECT_EQ(created.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(created.status().message(), HasSubstr(dir_.path() + "/no-pw"));

  auto readable_password = Settings();
  const std::string path = PasswordFile(kPassword);
  ::chmod(path.c_str(), 0644);
  (*readable_password.mutable_fields())["username"].set_string_value(kUser);
  (*readable_password.mutable_fields())["password_file"].set_string_value(path);
  created = factory_.Create(kAgencyId, readable_password, context_);
  EXPECT_EQ(created.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(created.status().message(), AllOf(HasSubstr(path), HasSubstr("chmod 600")));
  EXPECT_THAT(created.status().message(), Not(HasSubstr(kPassword)));

  AdapterContext no_content;
  created = factory_.Create(kAgencyId, Settings(), no_content);
  EXPECT_EQ(created.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(created.status().message(), HasSubstr("content"));
}

TEST_F(EmailAdapterTest, DefaultsArePort587AndTheHartBrokerEhloName) {
  google::protobuf::Struct s = Settings();
  s.mutable_fields()->erase("smtp_port");
  auto parsed = ParseEmailSettings(s);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->smtp_port(), 587u);
  EXPECT_EQ(parsed->helo_name(), "hart-broker");
}

// --- No PII ---------------------------------------------------------------

// Every non-empty string in `message`, recursively, with its field's name.
void CollectStrings(const google::protobuf::Message& message,
                    std::vector<std::pair<std::string, std::string>>& out) {
  const auto* descriptor = message.GetDescriptor();
  const auto* reflection = message.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const auto* field = descriptor->field(i);
    using FD = google::protobuf::FieldDescriptor;
    if (field->cpp_type() == FD::CPPTYPE_STRING) {
      if (field->is_repeated()) {
        for (int j = 0; j < reflection->FieldSize(message, field); ++j) {
          out.emplace_back(field->full_name(), reflection->GetRepeatedString(message, field, j));
        }
      } else {
        out.emplace_back(field->full_name(), reflection->GetString(message, field));
      }
    } else if (field->cpp_type() == FD::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) {
        for (int j = 0; j < reflection->FieldSize(message, field); ++j) {
          CollectStrings(reflection->GetRepeatedMessage(message, field, j), out);
        }
      } else if (reflection->HasField(message, field)) {
        CollectStrings(reflection->GetMessage(message, field), out);
      }
    }
  }
  out.erase(std::remove_if(out.begin(), out.end(), [](const auto& p) { return p.second.empty(); }),
            out.end());
}

std::string Digits(absl::string_view text) {
  std::string digits;
  for (char c : text) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) digits.push_back(c);
  }
  return digits;
}

// Digits of every run of phone-number characters in `text`, so
// "(860) 555-0142" and "860.555.0142" are both found as 8605550142.
std::vector<std::string> PhoneLikeRuns(absl::string_view text) {
  std::vector<std::string> runs;
  std::string run;
  for (char c : text) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c)) ||
        absl::string_view(" ()+.-/").find(c) != absl::string_view::npos) {
      run.push_back(c);
    } else {
      if (!Digits(run).empty()) runs.push_back(Digits(run));
      run.clear();
    }
  }
  if (!Digits(run).empty()) runs.push_back(Digits(run));
  return runs;
}

// The PII of `intake` found in `text`, described by field (never printed
// as a value beyond the test's own output).
std::vector<std::string> LeaksOf(const rv1::Intake& intake, const std::string& text) {
  std::vector<std::string> leaks;
  const std::string lower_text = absl::AsciiStrToLower(text);
  const auto found = [&](const std::string& field, const std::string& value, bool any_case) {
    const bool hit = absl::StrContains(text, value) ||
                     (any_case && absl::StrContains(lower_text, absl::AsciiStrToLower(value)));
    if (hit) leaks.push_back(absl::StrCat(field, ": '", value, "'"));
  };
  std::vector<std::pair<std::string, std::string>> fields;
  CollectStrings(intake, fields);
  for (const auto& [field, value] : fields) {
    const std::string name = absl::AsciiStrToLower(field.substr(field.rfind('.') + 1));
    found(field, value, value.size() >= 6);
    if (absl::StrContains(name, "name")) {
      for (absl::string_view word : absl::StrSplit(value, ' ', absl::SkipEmpty())) {
        if (word.size() >= 3) found(field, std::string(word), false);
      }
    }
    if (absl::StrContains(name, "date") && value.size() == 10 && value[4] == '-' && value[7] == '-') {
      const std::string y = value.substr(0, 4), m = value.substr(5, 2), d = value.substr(8, 2);
      const std::string m1 = m[0] == '0' ? m.substr(1) : m, d1 = d[0] == '0' ? d.substr(1) : d;
      for (const std::string& form : {absl::StrCat(y, "-", m, "-", d), absl::StrCat(m, "/", d, "/", y),
                                      absl::StrCat(m1, "/", d1, "/", y), absl::StrCat(y, m, d)}) {
        found(field, form, false);
      }
    }
    if (absl::StrContains(name, "phone")) {
      const std::string digits = Digits(value);
      for (const auto& run : PhoneLikeRuns(text)) {
        if (digits.size() >= 7 && absl::StrContains(run, digits)) {
          leaks.push_back(absl::StrCat(field, " (digits): '", digits, "'"));
        }
      }
    }
    if (value.size() > 20) {
      for (size_t i = 0; i + 20 <= value.size(); ++i) {
        if (absl::StrContains(text, value.substr(i, 20))) {
          leaks.push_back(absl::StrCat(field, " (20 characters): '", value.substr(i, 20), "'"));
          break;
        }
      }
    }
  }
  return leaks;
}

std::vector<std::string> ExampleIntakeNames() {
  std::vector<std::string> names;
  for (const auto& entry :
       std::filesystem::directory_iterator(SourcePath("tests/testdata/intakes"))) {
    if (entry.path().extension() == ".json") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(NoPiiCheckTest, TheCheckFindsPiiWhereItIs) {
  // The check itself must be able to fail: every example intake with PII
  // leaks in its own JSON, and reformatted dates and phones are caught.
  for (const auto& name : ExampleIntakeNames()) {
    const rv1::Intake intake = LoadIntake(name);
    std::string json;
    ASSERT_TRUE(google::protobuf::util::MessageToJsonString(intake, &json).ok());
    EXPECT_THAT(LeaksOf(intake, json), Not(IsEmpty())) << name;
  }
  rv1::Intake intake;
  intake.mutable_child()->set_date_of_birth("2010-03-14");
  intake.mutable_reporter()->set_phone("860-555-0142");
  EXPECT_THAT(LeaksOf(intake, "born 03/14/2010"), Not(IsEmpty()));
  EXPECT_THAT(LeaksOf(intake, "born 3/14/2010"), Not(IsEmpty()));
  EXPECT_THAT(LeaksOf(intake, "call (860) 555 0142"), Not(IsEmpty()));
  EXPECT_THAT(LeaksOf(intake, "call 860.555.0142."), Not(IsEmpty()));
  EXPECT_THAT(LeaksOf(intake, "nothing here 2026-11-21"), IsEmpty());
}

TEST_F(EmailAdapterTest, NoIntakeFactReachesANoticeEvenIfTheBrokerHandedItOver) {
  StartServer();
  auto adapter = MakeAdapter(Settings());
  ASSERT_NE(adapter, nullptr);
  const std::vector<std::string> names = ExampleIntakeNames();
  ASSERT_GE(names.size(), 5u);
  size_t expected = 0;
  for (const auto& name : names) {
    const rv1::Intake intake = LoadIntake(name);
    for (rv1::MessageKind kind : {rv1::REFERRAL, rv1::UPDATE, rv1::ESCALATION, rv1::ERASURE}) {
      DeliveryRecord record = Record(kind);
      record.delivery_deadline = TestNow() + absl::Hours(24);
      if (kind == rv1::UPDATE) record.changes = {"concern.narrative", "child.town"};
      if (kind == rv1::ESCALATION) {
        rv1::EscalationNotice notice;
        notice.set_escalated_delivery_id("dlv_01JD3Q8Z4M00000000ABCD");
        notice.set_escalated_agency_id("pd-test-town");
        notice.set_reason(rv1::DECLINED_BY_AGENCY);
        notice.set_step(1);
        notice.set_target(rv1::REGIONAL_HART_LEAD);
        record.escalation = notice;
      }
      if (kind == rv1::ERASURE) {
        rv1::ErasureNotice erasure;
        erasure.set_referral_id(kReferralId);
        erasure.set_court_order_reference("HHD-CV26-0001234");
        record.erasure = erasure;
      }
      // The worst case: the view carries the FULL intake.
      rv1::ReferralDelivery message = MessageFor(record);
      *message.mutable_referral()->mutable_intake() = intake;
      content_.Set(message);
      const DeliveryResult result = Deliver(*adapter, record);
      ASSERT_TRUE(result.status.ok()) << name << ": " << result.status;
      ++expected;
      ASSERT_TRUE(server_->WaitForMessages(expected, absl::Seconds(10)));
      const ReceivedMail mail = server_->messages().back();
      std::string everything = absl::StrCat(mail.mail_from, "\n", mail.data);
      for (const auto& rcpt : mail.rcpt_to) absl::StrAppend(&everything, "\n", rcpt);
      EXPECT_THAT(LeaksOf(intake, everything), IsEmpty())
          << name << " " << rv1::MessageKind_Name(kind) << " notice:\n" << mail.data;
      // The notice still says what it is about.
      EXPECT_THAT(mail.data, HasSubstr(kReferralId));
    }
  }
  EXPECT_TRUE(content_.all_notification_only());
}

}  // namespace
}  // namespace hart::adapters::email
