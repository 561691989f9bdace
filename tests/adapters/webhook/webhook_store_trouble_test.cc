// When the broker cannot load a delivery's message (its store busy or
// unreachable), the webhook partner was never contacted: the agency's
// circuit must stay closed and its health must not blame the partner, so
// the partner's deliveries flow again the moment the store does. Through
// the real adapter, its guard and a real HTTPS partner on 127.0.0.1.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <future>

#include "adapters/common/adapter_io.h"
#include "adapters/webhook/webhook_adapter.h"
#include "broker/clock.h"
#include "broker/delivery_content.h"
#include "broker/dispatch/delivery_guard.h"
#include "tests/support/https_test_server.h"
#include "tests/support/manual_scheduler.h"
#include "tests/support/test_certificates.h"
#include "tests/support/test_support.h"

namespace hart::adapters::webhook {
namespace {

namespace rv1 = ::hart::referral::v1;
using hart::testing::HttpsTestServer;
using hart::testing::ReceivedRequest;
using hart::testing::ServerReply;

constexpr auto kBound = std::chrono::seconds(10);

// UNAVAILABLE while the store is "busy", then a minimal message.
class TroubledContent final : public DeliveryContent {
 public:
  absl::StatusOr<rv1::ReferralDelivery> Load(const DeliveryRecord& delivery,
                                             bool) const override {
    if (busy_) return absl::UnavailableError("the store is busy; retry");
    rv1::ReferralDelivery message;
    message.set_kind(rv1::REFERRAL);
    message.set_delivery_id(delivery.delivery_id);
    return message;
  }
  void Recover() { busy_ = false; }

 private:
  std::atomic<bool> busy_{true};
};

DeliveryResult Deliver(Adapter& adapter, const std::string& delivery_id) {
  DeliveryRecord record;
  record.delivery_id = delivery_id;
  record.agency_id = "hartford-pd";
  auto promise = std::make_shared<std::promise<DeliveryResult>>();
  auto future = promise->get_future();
  adapter.Deliver(record, [promise](DeliveryResult r) { promise->set_value(std::move(r)); });
  if (future.wait_for(kBound) != std::future_status::ready) {
    return DeliveryResult::Failed(absl::InternalError("test: no result within the bound"));
  }
  return future.get();
}

TEST(WebhookStoreTroubleTest, AStoreThatCannotLoadMessagesLeavesThePartnersCircuitClosed) {
  hart::testing::TempDir dir;
  const auto certs = hart::testing::MakeTestCertificates(dir.path()).value();
  const std::string secret_file = dir.path() + "/webhook.key";
  std::ofstream(secret_file) << "test-only-hmac-key-0123456789abcdefghijk\n";
  ::chmod(secret_file.c_str(), 0600);
  auto server = HttpsTestServer::Start({certs.server_cert_file, certs.server_key_file, ""},
                                       [](const ReceivedRequest&) {
                                         return ServerReply{202, {}, "queued"};
                                       })
                    .value();
  google::protobuf::Struct settings;
  (*settings.mutable_fields())["url"].set_string_value(server->Url("/hook"));
  (*settings.mutable_fields())["ca_file"].set_string_value(certs.ca_file);
  (*settings.mutable_fields())["secret_file"].set_string_value(secret_file);

  ManualClock clock(hart::testing::TestNow());
  hart::testing::ManualScheduler scheduler(clock);
  TroubledContent content;
  AdapterIo io;
  WebhookAdapterFactory factory(io);
  AdapterContext context;
  context.clock = &clock;
  context.content = &content;
  DeliveryGuardPolicy policy;
  policy.failure_threshold = 2;
  GuardedAdapter guard("hartford-pd", factory.Create("hartford-pd", settings, context).value(),
                       policy, clock, scheduler);

  // Three times the failures that open the circuit, all the broker's own.
  for (int i = 0; i < 6; ++i) {
    const DeliveryResult result = Deliver(guard, "dlv-busy-" + std::to_string(i));
    EXPECT_EQ(result.status.code(), absl::StatusCode::kUnavailable) << i;
    EXPECT_FALSE(result.attempted) << i << ": the partner was never contacted";
    EXPECT_FALSE(result.holds_destination) << i << ": " << result.status;
  }
  const AdapterHealth health = guard.Health();
  EXPECT_EQ(health.state, AdapterHealth::State::kUp);
  EXPECT_EQ(health.consecutive_failures, 0u);
  EXPECT_EQ(health.last_error, "") << "the partner's health must not carry the store's trouble";
  EXPECT_TRUE(server->Requests().empty());

  // The store answers again: the next delivery goes straight through.
  content.Recover();
  const DeliveryResult result = Deliver(guard, "dlv-after");
  ASSERT_TRUE(result.status.ok()) << result.status;
  ASSERT_EQ(server->Requests().size(), 1u);
  EXPECT_EQ(server->Requests()[0].headers.at("idempotency-key"), "dlv-after");
}

}  // namespace
}  // namespace hart::adapters::webhook
