// /metrics of the real hart-broker binary, scraped over HTTPS on the
// operations port after a referral went through: the families are there,
// promtool accepts the text, and nothing of the referral (ids, names,
// phone numbers, narrative, case and report ids) is in it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "tests/e2e/broker_process.h"
#include "tests/support/https_test_client.h"

namespace hart::testing {
namespace {

constexpr char kPromtool[] = "/usr/bin/promtool";

std::string Scrape(const BrokerProcess& broker) {
  HttpsTestClientOptions options;
  options.ca_file = DevCertsDir() + "/ca.crt";
  auto client = HttpsTestClient::Connect(broker.ops_port(), options);
  EXPECT_TRUE(client.ok()) << client.status();
  if (!client.ok()) return "";
  auto response = (*client)->Get("/metrics");
  EXPECT_TRUE(response.ok()) << response.status();
  if (!response.ok()) return "";
  EXPECT_EQ(response->status, 200);
  return response->body;
}

TEST(MetricsE2eTest, AScrapeAfterAReferralHasTheFamiliesPassesPromtoolAndHoldsNoPii) {
  ASSERT_EQ(access(kPromtool, X_OK), 0)
      << kPromtool << " is missing; run deploy/install-deps.sh (package prometheus)";
  TempDir dir;
  BrokerProcess broker(dir.path() + "/data");
  ASSERT_TRUE(broker.running());
  const v1::Intake intake = LoadIntake("school-sex-trafficking-hartford");
  auto careline = v1::IntakeService::NewStub(broker.Channel("careline"));
  v1::SubmitIntakeRequest request;
  *request.mutable_intake() = intake;
  v1::SubmitIntakeResponse response;
  auto context = CallContext();
  ASSERT_TRUE(careline->SubmitIntake(context.get(), request, &response).ok());

  // The intake counter moves at once; the store-derived gauges on their
  // first refresh (at start).
  std::string scrape;
  ASSERT_TRUE(WaitFor([&] {
    scrape = Scrape(broker);
    return scrape.find("hart_intakes_total{outcome=\"created\"} 1") != std::string::npos &&
           scrape.find("hart_deliveries{") != std::string::npos;
  })) << scrape;
  for (const char* family :
       {"hart_intakes_total", "hart_group_commit_batch_size", "hart_group_commit_duration_seconds",
        "hart_deliveries{", "hart_outbox_depth", "hart_outbox_oldest_age_seconds",
        "hart_deliveries_overdue", "hart_audit_tree_size", "hart_store_executor_queue_length",
        "hart_build_info"}) {  // hart_feed_subscribers has series only while a feed is open
    EXPECT_NE(scrape.find(family), std::string::npos) << family;
  }

  const std::string file = dir.path() + "/scrape.txt";
  std::ofstream(file) << scrape;
  const std::string command = std::string(kPromtool) + " check metrics < " + file + " > " +
                              dir.path() + "/promtool.txt 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << ReadText(dir.path() + "/promtool.txt");

  for (const std::string& secret :
       {response.receipt().referral_id(), intake.careline_report_id(), intake.reporter().name(),
        intake.reporter().phone(), intake.child().given_name(), intake.child().family_name(),
        intake.child().dcf_case_id(), intake.concern().narrative()}) {
    if (secret.empty()) continue;
    EXPECT_EQ(scrape.find(secret), std::string::npos) << "the scrape holds " << secret;
  }
  for (const auto& delivery : response.receipt().destinations()) {
    EXPECT_EQ(scrape.find(delivery.delivery_id()), std::string::npos) << delivery.delivery_id();
  }
}

}  // namespace
}  // namespace hart::testing
