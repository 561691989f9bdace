#include "adapters/webhook/webhook_adapter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <future>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "adapters/webhook/webhook_signature.h"
#include "boost/asio/ip/tcp.hpp"
#include "broker/clock.h"
#include "broker/delivery_content.h"
#include "broker/dispatch/dispatcher.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "tests/support/https_test_server.h"
#include "tests/support/referral_factory.h"
#include "tests/support/test_certificates.h"
#include "tests/support/test_support.h"

namespace hart::adapters::webhook {
namespace {

namespace rv1 = ::hart::referral::v1;
using hart::testing::HttpsTestServer;
using hart::testing::MakeTestCertificates;
using hart::testing::ReceivedRequest;
using hart::testing::ServerReply;
using hart::testing::TempDir;
using hart::testing::TestCertificates;
using hart::testing::TestNow;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr auto kBound = std::chrono::seconds(10);
// 40 bytes: above the 32-byte minimum.
constexpr char kSecret[] = "test-only-hmac-key-0123456789abcdefghijk";

// The same fictional message for every delivery, addressed to it.
class FixedContent final : public DeliveryContent {
 public:
  FixedContent() {
    message_.set_kind(rv1::REFERRAL);
    message_.set_ack_token("ack-token-for-tests");
    message_.set_ack_url("https://hart-broker.example/v1/acks");
    rv1::ReferralView& view = *message_.mutable_referral();
    view.set_agency_id("hartford-pd");
    view.set_agency_kind(rv1::LOCAL_LAW_ENFORCEMENT);
    view.add_rule_ids("sex-trafficking-local-pd");
    rv1::Child& child = *view.mutable_intake()->mutable_child();
    child.set_given_name("Testy");
    child.set_family_name("Fakechild");
    child.set_age_years(15);
    child.set_town("Hartford");
  }
  absl::StatusOr<rv1::ReferralDelivery> Load(const DeliveryRecord& delivery,
                                             bool notification_only) const override {
    if (notification_only) return absl::InternalError("the webhook sends the full view");
    rv1::ReferralDelivery message = message_;
    message.set_delivery_id(delivery.delivery_id);
    message.set_referral_id(delivery.referral_id);
    message.mutable_referral()->set_delivery_id(delivery.delivery_id);
    message.mutable_referral()->set_referral_id(delivery.referral_id);
    return message;
  }

 private:
  rv1::ReferralDelivery message_;
};

DeliveryRecord Record(const std::string& id = "dlv-test-1") {
  DeliveryRecord record;
  record.delivery_id = id;
  record.referral_id = "ref-test-1";
  record.agency_id = "hartford-pd";
  return record;
}

int RefusedPort() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const int port = acceptor.local_endpoint().port();
  acceptor.close();
  return port;
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream(path) << content;
  ::chmod(path.c_str(), 0600);
}

class WebhookAdapterTest : public ::testing::Test {
 protected:
  WebhookAdapterTest()
      : certs_(MakeTestCertificates(dir_.path()).value()),
        clock_(TestNow()),
        factory_(io_),
        secret_file_(dir_.path() + "/webhook.key") {
    WriteFile(secret_file_, std::string(kSecret) + "\n");
  }

  std::unique_ptr<HttpsTestServer> StartServer(HttpsTestServer::Handler handler,
                                               bool require_client_cert = false) {
    return HttpsTestServer::Start({certs_.server_cert_file, certs_.server_key_file,
                                   require_client_cert ? certs_.ca_file : ""},
                                  std::move(handler))
        .value();
  }

  google::protobuf::Struct Settings(const std::string& url,
                                    std::map<std::string, std::string> overrides = {}) {
    std::map<std::string, std::string> values = {
        {"url", url}, {"ca_file", certs_.ca_file}, {"secret_file", secret_file_}};
    for (auto& [key, value] : overrides) values[key] = value;
    google::protobuf::Struct settings;
    for (const auto& [key, value] : values) {
      if (!value.empty()) (*settings.mutable_fields())[key].set_string_value(value);
    }
    return settings;
  }

  absl::StatusOr<std::unique_ptr<hart::Adapter>> Make(const google::protobuf::Struct& settings,
                                                absl::Duration timeout = absl::Seconds(5)) {
    AdapterContext context;
    context.clock = &clock_;
    context.content = &content_;
    context.timeout = timeout;
    return factory_.Create("hartford-pd", settings, context);
  }

  std::unique_ptr<hart::Adapter> MakeAdapter(const std::string& url,
                                   absl::Duration timeout = absl::Seconds(5)) {
    return Make(Settings(url), timeout).value();
  }

  // Delivers and waits (bounded) for the result.
  static DeliveryResult Deliver(hart::Adapter& adapter, const DeliveryRecord& record = Record()) {
    auto promise = std::make_shared<std::promise<DeliveryResult>>();
    auto future = promise->get_future();
    adapter.Deliver(record, [promise](DeliveryResult r) { promise->set_value(std::move(r)); });
    if (future.wait_for(kBound) != std::future_status::ready) {
      return DeliveryResult::Failed(absl::InternalError("test: no result within the bound"));
    }
    return future.get();
  }

  TempDir dir_;
  TestCertificates certs_;
  ManualClock clock_;
  FixedContent content_;
  AdapterIo io_;
  WebhookAdapterFactory factory_;
  std::string secret_file_;
};

TEST_F(WebhookAdapterTest, PostsSignedJsonWithTheDeliveryIdAsIdempotencyKey) {
  auto server = StartServer([](const ReceivedRequest&) { return ServerReply{202, {}, "queued"}; });
  auto adapter = MakeAdapter(server->Url("/hart/deliveries"));
  EXPECT_EQ(adapter->type(), "webhook");

  const DeliveryResult result = Deliver(*adapter);
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_TRUE(result.transport_acknowledged);
  EXPECT_EQ(result.transport_ref, "webhook:202");

  const auto requests = server->Requests();
  ASSERT_EQ(requests.size(), 1u);
  const ReceivedRequest& request = requests[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/hart/deliveries");
  EXPECT_EQ(request.headers.at("content-type"), "application/json");
  EXPECT_EQ(request.headers.at("idempotency-key"), "dlv-test-1");
  EXPECT_EQ(request.headers.at("x-hart-delivery-id"), "dlv-test-1");
  EXPECT_EQ(request.headers.at("x-hart-message-kind"), "REFERRAL");
  EXPECT_EQ(request.headers.at("x-hart-signature"),
            WebhookSignature(kSecret, absl::ToUnixSeconds(TestNow()), request.body));

  EXPECT_THAT(request.body, HasSubstr("\"deliveryId\":\"dlv-test-1\""));
  rv1::ReferralDelivery parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(request.body, &parsed).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      parsed, content_.Load(Record(), false).value()));
}

TEST_F(WebhookAdapterTest, ConnectionRefusedIsRetried) {
  auto adapter = MakeAdapter("https://127.0.0.1:" + std::to_string(RefusedPort()) + "/hook");
  const DeliveryResult result = Deliver(*adapter);
  EXPECT_EQ(result.status.code(), absl::StatusCode::kUnavailable) << result.status;
  EXPECT_THAT(result.status.message(), HasSubstr("connect to 127.0.0.1:"));
}

TEST_F(WebhookAdapterTest, SlowPartnerBeyondTheTimeoutIsDeadlineExceededButGotTheRequest) {
  auto server = StartServer([](const ReceivedRequest&) {
    ServerReply reply;
    reply.delay = absl::Seconds(5);
    return reply;
  });
  auto adapter = MakeAdapter(server->Url("/hook"), absl::Milliseconds(300));
  const DeliveryResult result = Deliver(*adapter);
  EXPECT_EQ(result.status.code(), absl::StatusCode::kDeadlineExceeded) << result.status;
  ASSERT_TRUE(server->WaitForRequests(1));
  EXPECT_EQ(server->Requests()[0].headers.at("idempotency-key"), "dlv-test-1");
}

TEST_F(WebhookAdapterTest, ServerErrorIsRetriedAndTheRetrySucceeds) {
  std::atomic<int> calls{0};
  auto server = StartServer([&calls](const ReceivedRequest&) {
    if (calls++ == 0) return ServerReply{500, {}, "stack trace with Testy Fakechild"};
    return ServerReply{200, {}, ""};
  });
  auto adapter = MakeAdapter(server->Url("/hook"));
  const DeliveryResult first = Deliver(*adapter);
  EXPECT_EQ(first.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(first.status.message(), HasSubstr("HTTP 500"));
  EXPECT_THAT(first.status.message(), Not(HasSubstr("Fakechild")));
  EXPECT_EQ(first.retry_after, std::nullopt);

  const DeliveryResult second = Deliver(*adapter);
  EXPECT_TRUE(second.status.ok()) << second.status;
  EXPECT_EQ(second.transport_ref, "webhook:200");
  const auto requests = server->Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].headers.at("idempotency-key"), requests[1].headers.at("idempotency-key"));
}

TEST_F(WebhookAdapterTest, ThrottlingAndUnavailabilityCarryRetryAfter) {
  auto server = StartServer([](const ReceivedRequest& request) {
    if (request.target == "/throttled") return ServerReply{429, {{"Retry-After", "120"}}, ""};
    return ServerReply{503,
                       {{"Retry-After", absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT",
                                                         TestNow() + absl::Seconds(90),
                                                         absl::UTCTimeZone())}},
                       ""};
  });
  const DeliveryResult throttled = Deliver(*MakeAdapter(server->Url("/throttled")));
  EXPECT_EQ(throttled.status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(throttled.retry_after, absl::Seconds(120));

  const DeliveryResult down = Deliver(*MakeAdapter(server->Url("/down")));
  EXPECT_EQ(down.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(down.retry_after, absl::Seconds(90));
}

TEST_F(WebhookAdapterTest, RequestTimeoutFromThePartnerIsRetried) {
  auto server = StartServer([](const ReceivedRequest&) { return ServerReply{408, {}, ""}; });
  const DeliveryResult result = Deliver(*MakeAdapter(server->Url("/hook")));
  EXPECT_EQ(result.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(IsRetryableDeliveryError(result.status.code()));
}

TEST_F(WebhookAdapterTest, RefusalIsADeadLetterWithoutTheResponseBody) {
  auto server = StartServer([](const ReceivedRequest& request) {
    if (request.target == "/moved") {
      return ServerReply{301, {{"Location", "https://127.0.0.1:1/elsewhere"}}, ""};
    }
    return ServerReply{400, {}, "field child.givenName 'Testy' rejected"};
  });
  const DeliveryResult refused = Deliver(*MakeAdapter(server->Url("/hook")));
  EXPECT_EQ(refused.status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(IsRetryableDeliveryError(refused.status.code()));
  EXPECT_EQ(refused.status.message(), "partner refused delivery with HTTP 400");

  const DeliveryResult moved = Deliver(*MakeAdapter(server->Url("/moved")));
  EXPECT_EQ(moved.status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(moved.status.message(), HasSubstr("HTTP 301"));
  EXPECT_EQ(server->Requests().size(), 2u);  // the redirect was not followed
}

TEST_F(WebhookAdapterTest, WrongCaFailsTheTlsHandshakeAndSendsNothing) {
  auto server = StartServer([](const ReceivedRequest&) { return ServerReply{}; });
  auto adapter = Make(Settings(server->Url("/hook"), {{"ca_file", certs_.other_ca_file}})).value();
  const DeliveryResult result = Deliver(*adapter);
  EXPECT_EQ(result.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(result.status.message(), HasSubstr("certificate verification failed"));
  EXPECT_TRUE(server->Requests().empty());
}

TEST_F(WebhookAdapterTest, PresentsTheClientCertificateWhenConfigured) {
  auto server = StartServer([](const ReceivedRequest&) { return ServerReply{}; },
                            /*require_client_cert=*/true);
  auto adapter = Make(Settings(server->Url("/hook"), {{"client_cert_file", certs_.client_cert_file},
                                                      {"client_key_file", certs_.client_key_file}}))
                     .value();
  const DeliveryResult result = Deliver(*adapter);
  ASSERT_TRUE(result.status.ok()) << result.status;
  ASSERT_EQ(server->Requests().size(), 1u);
  EXPECT_TRUE(server->Requests()[0].client_certificate_presented);
}

TEST_F(WebhookAdapterTest, SettingsErrorsSayWhatToFix) {
  const std::string url = "https://partner.example/hook";
  auto unknown = Settings(url);
  (*unknown.mutable_fields())["retries"].set_number_value(3);
  auto status = factory_.ValidateSettings(unknown);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("retries"));

  status = factory_.ValidateSettings(Settings("http://partner.example/hook"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("https://"));

  status = factory_.ValidateSettings(Settings(url, {{"secret_file", ""}}));
  EXPECT_THAT(status.message(), HasSubstr("secret_file is required"));

  status = factory_.ValidateSettings(Settings(url, {{"client_cert_file", certs_.client_cert_file}}));
  EXPECT_THAT(status.message(), HasSubstr("client_key_file"));

  EXPECT_TRUE(factory_.ValidateSettings(Settings(url)).ok());

  const std::string missing = dir_.path() + "/no-such.key";
  auto adapter = Make(Settings(url, {{"secret_file", missing}}));
  ASSERT_FALSE(adapter.ok());
  EXPECT_THAT(adapter.status().message(), HasSubstr(missing));
  EXPECT_THAT(adapter.status().message(), HasSubstr("does not exist"));

  WriteFile(dir_.path() + "/short.key", "too-short");
  adapter = Make(Settings(url, {{"secret_file", dir_.path() + "/short.key"}}));
  ASSERT_FALSE(adapter.ok());
  EXPECT_THAT(adapter.status().message(), HasSubstr("at least 32"));
  EXPECT_THAT(adapter.status().message(), Not(HasSubstr("too-short")));

  adapter = Make(Settings(url, {{"ca_file", dir_.path() + "/no-ca.crt"}}));
  ASSERT_FALSE(adapter.ok());
  EXPECT_THAT(adapter.status().message(), HasSubstr("no-ca.crt"));
}

// ---- What a partner does, written from the README, not from the adapter.

struct ParsedSignature {
  int64_t timestamp = 0;
  std::string v1_hex;
};

std::optional<ParsedSignature> ParseSignatureHeader(const std::string& header) {
  ParsedSignature parsed;
  bool have_t = false;
  for (absl::string_view part : absl::StrSplit(header, ',')) {
    std::pair<std::string, std::string> kv = absl::StrSplit(part, absl::MaxSplits('=', 1));
    if (kv.first == "t") have_t = absl::SimpleAtoi(kv.second, &parsed.timestamp);
    if (kv.first == "v1") parsed.v1_hex = kv.second;
  }
  if (!have_t || parsed.v1_hex.empty()) return std::nullopt;
  return parsed;
}

std::string HexHmacSha256(const std::string& key, const std::string& text) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac, &size);
  static const char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    hex += kDigits[mac[i] >> 4];
    hex += kDigits[mac[i] & 0xf];
  }
  return hex;
}

// The partner's check: header well-formed, timestamp within 5 minutes of
// its own clock, HMAC over "<t>." + raw body equal in constant time.
bool PartnerAccepts(const ReceivedRequest& request, const std::string& key, absl::Time now) {
  const auto it = request.headers.find("x-hart-signature");
  if (it == request.headers.end()) return false;
  const auto signature = ParseSignatureHeader(it->second);
  if (!signature) return false;
  if (absl::AbsDuration(now - absl::FromUnixSeconds(signature->timestamp)) > absl::Minutes(5)) {
    return false;
  }
  const std::string expected =
      HexHmacSha256(key, std::to_string(signature->timestamp) + "." + request.body);
  return expected.size() == signature->v1_hex.size() &&
         CRYPTO_memcmp(expected.data(), signature->v1_hex.data(), expected.size()) == 0;
}

TEST_F(WebhookAdapterTest, PartnerVerifiesTheSignatureFromTheDocumentedRecipe) {
  auto server = StartServer([](const ReceivedRequest&) { return ServerReply{}; });
  ASSERT_TRUE(Deliver(*MakeAdapter(server->Url("/hook"))).status.ok());
  const ReceivedRequest request = server->Requests().at(0);

  EXPECT_TRUE(PartnerAccepts(request, kSecret, TestNow() + absl::Seconds(30)));

  ReceivedRequest tampered = request;
  tampered.body.replace(tampered.body.find("Hartford"), 8, "Hartfort");
  EXPECT_FALSE(PartnerAccepts(tampered, kSecret, TestNow()));
  EXPECT_FALSE(PartnerAccepts(request, std::string(kSecret) + "x", TestNow()));
  EXPECT_FALSE(PartnerAccepts(request, kSecret, TestNow() + absl::Minutes(6)));  // replayed late
}

// Computed with the README's openssl CLI recipe.
TEST(WebhookSignatureTest, MatchesTheReadmeRecipe) {
  EXPECT_EQ(WebhookSignature(kSecret, 1795269600, R"({"deliveryId":"dlv_x","kind":"REFERRAL"})"),
            "t=1795269600,v1=484e81a11703f8078196f5f168cf5a1bfb50b3f81d1f81d0eb7859a9e4c7929c");
}

// ---- Nothing lost, nothing doubled: the real dispatcher over a real store.

TEST_F(WebhookAdapterTest, DispatcherDeliversEverythingExactlyOnceDespiteFailures) {
  TempDir data_dir;
  auto store = OpenSqliteStore(data_dir.path()).value();
  hart::testing::ReferralFactory referrals(*store, clock_);
  std::vector<std::string> delivery_ids;
  for (const auto& [name, suffix] : std::vector<std::pair<std::string, std::string>>{
           {"school-sex-trafficking-hartford", "-a"},
           {"labor-trafficking-waterbury", "-b"},
           {"urgent-hotel-bridgeport", "-c"}}) {
    auto receipt = referrals.Submit(hart::testing::ReferralFactory::Example(name, suffix));
    ASSERT_TRUE(receipt.ok()) << receipt.status();
    for (const auto& destination : receipt->destinations()) {
      delivery_ids.push_back(destination.delivery_id());
    }
  }
  ASSERT_GE(delivery_ids.size(), 3u);

  // The first calls fail: 500, a reply later than the timeout (the partner
  // got it; the broker cannot know), 503, a dropped connection, 500.
  std::atomic<int> calls{0};
  absl::Mutex mu;
  std::vector<std::string> promptly_accepted;  // idempotency keys answered 2xx in time
  auto server = StartServer([&](const ReceivedRequest& request) {
    const int call = calls++;
    ServerReply reply;
    switch (call) {
      case 0: reply.status = 500; break;
      case 1: reply.delay = absl::Seconds(3); break;
      case 2: reply.status = 503; break;
      case 3: reply.close_without_reply = true; break;
      case 4: reply.status = 500; break;
      default: {
        absl::MutexLock lock(&mu);
        promptly_accepted.push_back(request.headers.at("idempotency-key"));
      }
    }
    return reply;
  });
  // Generous for the prompt replies (a loaded sanitizer build can take a
  // second per TLS exchange: a timeout there would be a retry this test does
  // not expect), short of the slow reply's 3 s.
  auto adapter = MakeAdapter(server->Url("/hook"), absl::Milliseconds(1500));

  std::map<std::string, hart::Adapter*> adapters;
  for (const auto& agency : hart::testing::ConnecticutConfig().agencies()) {
    adapters[agency.id()] = adapter.get();
  }
  hart::testing::FakeRandom random;
  DispatchPolicy policy;
  policy.budget.max_attempts = 50;
  policy.backoff = {absl::Seconds(1), absl::Seconds(4)};
  Dispatcher dispatcher(*store, adapters, clock_, random, policy);

  auto state = [&](const std::string& id) { return store->GetDelivery(id).value().state; };
  bool all_delivered = false;
  for (int round = 0; round < 30 && !all_delivered; ++round) {
    ASSERT_TRUE(dispatcher.RunOnce().ok());
    // Every claimed delivery's outcome is recorded before time moves on.
    ASSERT_TRUE(hart::testing::WaitFor([&] {
      for (const auto& id : delivery_ids) {
        if (state(id) == rv1::IN_FLIGHT) return false;
      }
      return true;
    }));
    all_delivered = std::all_of(delivery_ids.begin(), delivery_ids.end(),
                                [&](const std::string& id) { return state(id) == rv1::DELIVERED; });
    clock_.Advance(absl::Seconds(10));  // past any backoff
  }
  ASSERT_TRUE(all_delivered);

  const auto requests = server->Requests();
  EXPECT_EQ(requests.size(), delivery_ids.size() + 5);  // every failure was retried once
  std::map<std::string, int> received_by_key;
  for (const auto& request : requests) {
    const std::string& key = request.headers.at("idempotency-key");
    ++received_by_key[key];
    rv1::ReferralDelivery body;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(request.body, &body).ok());
    EXPECT_EQ(body.delivery_id(), key);
  }
  const std::set<std::string> expected(delivery_ids.begin(), delivery_ids.end());
  std::set<std::string> deduplicated;
  for (const auto& [key, count] : received_by_key) deduplicated.insert(key);
  EXPECT_EQ(deduplicated, expected);  // nothing lost, nothing foreign

  absl::MutexLock lock(&mu);
  std::map<std::string, int> accepted_by_key;
  for (const auto& key : promptly_accepted) ++accepted_by_key[key];
  EXPECT_EQ(accepted_by_key.size(), expected.size());
  for (const auto& [key, count] : accepted_by_key) {
    EXPECT_EQ(count, 1) << key << " was sent again after the partner confirmed it";
  }
}

}  // namespace
}  // namespace hart::adapters::webhook
