// /metrics of the real hart-broker binary, over HTTPS on its operations
// port, after an example scenario (intakes created, repeated and refused; an
// agency reading its feed and accepting): the families are there with the
// scenario's counts, `promtool check metrics` accepts the scrape, and no id
// or piece of PII of the scenario appears anywhere in it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "tests/e2e/broker_process.h"
#include "tests/support/https_test_client.h"
#include "tests/support/metrics_scrape.h"

namespace hart::testing {
namespace {

using ::testing::Optional;

constexpr char kPromtool[] = "/usr/bin/promtool";

// GET /metrics on the operations port (no client certificate needed, as
// for health: it says nothing about a referral).
absl::StatusOr<HttpsTestResponse> Scrape(const BrokerProcess& broker) {
  HttpsTestClientOptions options;
  options.ca_file = DevCertsDir() + "/ca.crt";
  auto client = HttpsTestClient::Connect(broker.ops_port(), options);
  if (!client.ok()) return client.status();
  return (*client)->Get("/metrics");
}

// The sum of every sample of the family `name` (no other family's).
double FamilySum(const std::string& scrape, const std::string& name) {
  std::istringstream lines(scrape);
  std::string line;
  double sum = 0;
  while (std::getline(lines, line)) {
    if (absl::StartsWith(line, name + "{") || absl::StartsWith(line, name + " ")) {
      sum += std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr);
    }
  }
  return sum;
}

// The scenario's ids and PII, which must not be in the scrape.
void KeepSecrets(const v1::Intake& intake, std::vector<std::string>& secrets) {
  for (const std::string& s :
       {intake.careline_report_id(), intake.reporter().name(), intake.reporter().phone(),
        intake.child().given_name(), intake.child().family_name(), intake.child().dcf_case_id(),
        intake.concern().narrative()}) {
    if (!s.empty()) secrets.push_back(s);
  }
}

TEST(MetricsE2eTest, AScenariosScrapePassesPromtoolAndHoldsNoIdOrPii) {
  ASSERT_EQ(access(kPromtool, X_OK), 0)
      << kPromtool << " is missing; run deploy/install-deps.sh (it installs the prometheus "
      << "package, a declared test dependency)";
  TempDir dir;
  BrokerProcess broker(dir.path() + "/data");
  ASSERT_TRUE(broker.running());
  ASSERT_GT(broker.ops_port(), 0);

  auto careline = broker.Intake();
  std::vector<std::string> secrets;
  std::vector<v1::Receipt> receipts;
  for (const char* name : {"labor-trafficking-waterbury", "school-sex-trafficking-hartford",
                           "missing-from-foster-care-new-haven"}) {
    v1::SubmitIntakeRequest request;
    *request.mutable_intake() = LoadIntake(name);
    KeepSecrets(request.intake(), secrets);
    v1::SubmitIntakeResponse response;
    ASSERT_TRUE(careline->SubmitIntake(CallContext().get(), request, &response).ok()) << name;
    receipts.push_back(response.receipt());
  }
  {  // The same intake again: a duplicate; an adult not known to DCF: refused.
    v1::SubmitIntakeRequest again;
    *again.mutable_intake() = LoadIntake("labor-trafficking-waterbury");
    v1::SubmitIntakeResponse response;
    ASSERT_TRUE(careline->SubmitIntake(CallContext().get(), again, &response).ok());
    v1::SubmitIntakeRequest invalid;
    *invalid.mutable_intake() = LoadIntake("invalid-adult-not-dcf");
    KeepSecrets(invalid.intake(), secrets);
    EXPECT_EQ(careline->SubmitIntake(CallContext().get(), invalid, &response).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  size_t deliveries = 0;
  std::string police_delivery;
  for (const v1::Receipt& receipt : receipts) {
    secrets.push_back(receipt.referral_id());
    for (const auto& d : receipt.destinations()) {
      secrets.push_back(d.delivery_id());
      ++deliveries;
      if (d.agency_id() == "waterbury-pd") police_delivery = d.delivery_id();
    }
  }
  ASSERT_TRUE(IsFeedAgency("waterbury-pd"));
  ASSERT_FALSE(police_delivery.empty());
  // Waterbury PD reads its feed and acknowledges: RECEIVED, then ACCEPTED.
  EXPECT_THAT(DrainFeed(broker, "waterbury-pd", {police_delivery}),
              ::testing::Contains(police_delivery));

  // The store-derived gauges are refreshed every few seconds: wait (bounded)
  // until they count every delivery of the scenario.
  std::string scrape;
  const bool counted = WaitFor(
      [&] {
        auto response = Scrape(broker);
        if (!response.ok() || response->status != 200) return false;
        scrape = response->body;
        return FamilySum(scrape, "hart_deliveries") >= static_cast<double>(deliveries) &&
               SampleValue(scrape, "hart_ack_latency_seconds_count{ack_kind=\"accepted\","
                                   "agency_kind=\"local_law_enforcement\"}") == 1.0;
      },
      std::chrono::seconds(30));
  ASSERT_TRUE(counted) << scrape;
  auto response = Scrape(broker);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  scrape = response->body;

  EXPECT_THAT(SampleValue(scrape, "hart_intakes_total{outcome=\"created\"}"), Optional(3.0));
  EXPECT_THAT(SampleValue(scrape, "hart_intakes_total{outcome=\"duplicate\"}"), Optional(1.0));
  EXPECT_THAT(SampleValue(scrape, "hart_intakes_total{outcome=\"invalid\"}"), Optional(1.0));
  EXPECT_GT(SampleValue(scrape, "hart_audit_tree_size").value_or(0), 0);
  EXPECT_GT(SampleValue(scrape, "hart_group_commit_batch_size_count").value_or(0), 0);
  EXPECT_THAT(SampleValue(scrape, "hart_store_executor_queue_capacity"), Optional(4096.0));
  for (const char* family :
       {"hart_build_info{", "hart_deliveries_overdue{", "hart_dead_letters{",
        "hart_outbox_depth ", "hart_outbox_oldest_age_seconds ", "hart_push_circuit_state{",
        "hart_ops_snapshot_timestamp_seconds "}) {
    EXPECT_TRUE(absl::StrContains(scrape, family)) << family;
  }

  for (const std::string& secret : secrets) {
    EXPECT_FALSE(absl::StrContains(scrape, secret)) << "the scrape holds " << secret;
  }
  for (const char* id_prefix : {"ref_", "dlv_", "tmr_", "CL-"}) {
    EXPECT_FALSE(absl::StrContains(scrape, id_prefix)) << id_prefix;
  }

  const std::string in = dir.path() + "/scrape.txt";
  const std::string out = dir.path() + "/promtool.txt";
  std::ofstream(in) << scrape;
  const int status = std::system(
      (std::string(kPromtool) + " check metrics < " + in + " > " + out + " 2>&1").c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << ReadText(out) << "\n" << scrape;
}

}  // namespace
}  // namespace hart::testing
