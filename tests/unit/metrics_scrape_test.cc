// The scrape of a broker that has run an example scenario (intakes of
// every outcome, deliveries delivered, retried and dead, acknowledgements,
// escalations, a signed checkpoint, the state gauges refreshed from the
// store): `promtool check metrics` accepts it, and no label value is an id
// or a piece of PII of the scenario; every label value comes from a fixed
// set (the API's enums, the config's agency ids and adapter types).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <set>

#include "broker/audit/audit_log.h"
#include "broker/metrics/label_values.h"
#include "broker/metrics/ops_refresher.h"
#include "tests/support/manual_scheduler.h"
#include "tests/unit/instrumented_broker.h"

namespace hart {
namespace {

using hart::testing::ConnecticutConfig;
using hart::testing::InstrumentedBroker;
using hart::testing::LoadIntake;
using hart::testing::ManualScheduler;
using hart::testing::PartnersAdapter;
using hart::testing::TempDir;
using hart::testing::TestNow;
using hart::testing::WaitFor;

constexpr char kPromtool[] = "/usr/bin/promtool";

// Every value each label may take.
std::map<std::string, std::set<std::string>> AllowedLabelValues() {
  std::map<std::string, std::set<std::string>> allowed;
  for (int k = v1::AgencyKind_MIN; k <= v1::AgencyKind_MAX; ++k) {
    allowed["agency_kind"].insert(metrics::AgencyKindLabel(static_cast<v1::AgencyKind>(k)));
  }
  for (int s = v1::DeliveryState_MIN; s <= v1::DeliveryState_MAX; ++s) {
    allowed["state"].insert(metrics::DeliveryStateLabel(static_cast<v1::DeliveryState>(s)));
  }
  for (const char* s : {"up", "degraded", "circuit_open"}) allowed["state"].insert(s);
  for (int m = v1::MessageKind_MIN; m <= v1::MessageKind_MAX; ++m) {
    allowed["message_kind"].insert(metrics::MessageKindLabel(static_cast<v1::MessageKind>(m)));
  }
  for (auto kind : {v1::Acknowledgement::RECEIVED, v1::Acknowledgement::ACCEPTED,
                    v1::Acknowledgement::DECLINED}) {
    allowed["ack_kind"].insert(metrics::AckKindLabel(kind));
  }
  for (int r = v1::EscalationReason_MIN; r <= v1::EscalationReason_MAX; ++r) {
    allowed["reason"].insert(
        metrics::EscalationReasonLabel(static_cast<v1::EscalationReason>(r)));
  }
  allowed["outcome"] = {"created", "duplicate", "conflict", "invalid", "unavailable", "failed"};
  allowed["result"] = {"handed_off", "delivered", "retry", "deferred", "dead"};
  for (const auto& agency : ConnecticutConfig().agencies()) {
    allowed["agency_id"].insert(agency.id());
    allowed["adapter_type"].insert(agency.adapter().type());
  }
  allowed["version"] = {metrics::BrokerMetricsOptions::ForConfig(ConnecticutConfig()).version};
  allowed["policy_version"] = {ConnecticutConfig().policy_version()};
  allowed["store_backend"] = {ConnecticutConfig().store().backend()};
  return allowed;
}

// Runs promtool on `text`; its exit status and output.
std::pair<int, std::string> Promtool(const std::string& text, const std::string& dir) {
  const std::string in = dir + "/scrape.txt";
  const std::string out = dir + "/promtool.txt";
  std::ofstream(in) << text;
  const int status = std::system(
      (std::string(kPromtool) + " check metrics < " + in + " > " + out + " 2>&1").c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, hart::testing::ReadText(out)};
}

class MetricsScrapeTest : public ::testing::Test {
 protected:
  // The scenario; every id and piece of PII it involves goes to secrets_.
  void RunScenario() {
    adapter_.failing = {"csao"};
    for (const char* name : {"labor-trafficking-waterbury", "school-sex-trafficking-hartford",
                             "missing-from-foster-care-new-haven"}) {
      const v1::Intake intake = LoadIntake(name);
      KeepSecrets(intake);
      auto receipt = broker_.Submit(intake);
      ASSERT_TRUE(receipt.ok()) << receipt.status();
      receipts_.push_back(*receipt);
    }
    ASSERT_TRUE(broker_.Submit(LoadIntake("labor-trafficking-waterbury")).ok());  // duplicate
    const v1::Intake invalid = LoadIntake("invalid-adult-not-dcf");
    KeepSecrets(invalid);
    ASSERT_FALSE(broker_.Submit(invalid).ok());
    for (int i = 0; i < 10; ++i) {
      broker_.Settle();
      clock_.Advance(absl::Minutes(1));
    }
    const v1::Receipt& waterbury = receipts_[0];
    ASSERT_TRUE(broker_.acks
                    .Acknowledge("waterbury-pd", InstrumentedBroker::DeliveryTo(waterbury, "waterbury-pd"),
                                 v1::Acknowledgement::ACCEPTED, "Detective Ormsby will call",
                                 "agency/waterbury-pd")
                    .ok());
    secrets_.push_back("Ormsby");
    clock_.Advance(absl::Hours(30));  // deadlines pass, ladders climb
    broker_.Settle();

    auto signer = audit::CheckpointSigner::LoadOrCreate(dir_.path() + "/audit-signing.key");
    ASSERT_TRUE(signer.ok()) << signer.status();
    audit::AuditLog log(*broker_.store, **signer, clock_);
    ASSERT_TRUE(log.Checkpoint().ok());
    clock_.Advance(absl::Minutes(5));
    RefreshStateGauges();

    for (const v1::Receipt& receipt : receipts_) {
      secrets_.push_back(receipt.referral_id());
      secrets_.push_back(receipt.careline_report_id());
      auto deliveries = broker_.store->GetDeliveries(receipt.referral_id());
      ASSERT_TRUE(deliveries.ok()) << deliveries.status();
      for (const auto& d : *deliveries) secrets_.push_back(d.delivery.delivery_id);
    }
  }

  // One refresh of the state gauges from the scenario's store, with push
  // destinations' health and feed streams as a running broker has them.
  void RefreshStateGauges() {
    ManualScheduler scheduler(clock_);
    metrics::OpsRefresher refresher(
        broker_.metrics.gauges(), *broker_.store, broker_.executor, scheduler, clock_,
        [] {
          metrics::RuntimeSample sample;
          AdapterHealth csao;
          csao.agency_id = "csao";
          csao.adapter_type = "grpc_feed";
          csao.state = AdapterHealth::State::kCircuitOpen;
          csao.last_error = "UNAVAILABLE: partner down";
          sample.push_destinations = {csao};
          sample.feed_subscribers = {{"hartford-pd", 1}};
          return sample;
        },
        absl::Seconds(5));
    refresher.Start();
    ASSERT_EQ(scheduler.RunDue(), 1u);
    ASSERT_TRUE(WaitFor([&] { return scheduler.pending() == 1; }));
  }

  void KeepSecrets(const v1::Intake& intake) {
    for (const std::string& s :
         {intake.careline_report_id(), intake.reporter().name(), intake.reporter().phone(),
          intake.child().given_name(), intake.child().family_name(),
          intake.child().dcf_case_id(), intake.concern().narrative()}) {
      if (!s.empty()) secrets_.push_back(s);
    }
  }

  TempDir dir_;
  ManualClock clock_{TestNow()};
  PartnersAdapter adapter_;
  InstrumentedBroker broker_{dir_.path(), clock_, adapter_};
  std::vector<v1::Receipt> receipts_;
  std::vector<std::string> secrets_;
};

TEST_F(MetricsScrapeTest, PromtoolAcceptsTheScrape) {
  ASSERT_EQ(access(kPromtool, X_OK), 0)
      << kPromtool << " is missing; run deploy/install-deps.sh (it installs the prometheus "
      << "package, a declared test dependency)";
  ASSERT_NO_FATAL_FAILURE(RunScenario());
  const std::string scrape = broker_.metrics.Scrape();
  // The scenario reached every family this test can make.
  for (const char* family :
       {"hart_intakes_total", "hart_ack_latency_seconds_bucket", "hart_delivery_attempts_total",
        "hart_dead_letters_total", "hart_escalation_steps_total", "hart_group_commit_batch_size",
        "hart_group_commit_duration_seconds", "hart_deliveries{", "hart_outbox_depth",
        "hart_outbox_oldest_age_seconds", "hart_deliveries_overdue", "hart_dead_letters{",
        "hart_audit_tree_size", "hart_audit_last_checkpoint_age_seconds",
        "hart_store_executor_queue_length", "hart_push_circuit_state", "hart_feed_subscribers",
        "hart_build_info"}) {
    EXPECT_NE(scrape.find(family), std::string::npos) << family;
  }
  const auto [status, output] = Promtool(scrape, dir_.path());
  EXPECT_EQ(status, 0) << output << "\n" << scrape;
}

TEST_F(MetricsScrapeTest, NoLabelValueIsAnIdOrPii) {
  ASSERT_NO_FATAL_FAILURE(RunScenario());
  const std::string scrape = broker_.metrics.Scrape();
  ASSERT_GT(secrets_.size(), 20u);
  for (const std::string& secret : secrets_) {
    EXPECT_EQ(scrape.find(secret), std::string::npos) << "the scrape holds " << secret;
  }
  for (const char* id_prefix : {"ref_", "dlv_", "tmr_", "CL-"}) {
    EXPECT_EQ(scrape.find(id_prefix), std::string::npos) << id_prefix;
  }
  const auto allowed = AllowedLabelValues();
  const std::regex label(R"re(([a-z_]+)="([^"]*)")re");
  const std::regex number(R"re(\+Inf|[0-9]+(\.[0-9]+)?(e[+-]?[0-9]+)?)re");
  size_t checked = 0;
  for (auto it = std::sregex_iterator(scrape.begin(), scrape.end(), label);
       it != std::sregex_iterator(); ++it, ++checked) {
    const std::string name = (*it)[1];
    const std::string value = (*it)[2];
    if (name == "le" || name == "step") {
      EXPECT_TRUE(std::regex_match(value, number)) << name << "=" << value;
      continue;
    }
    auto values = allowed.find(name);
    ASSERT_NE(values, allowed.end()) << "unexpected label " << name;
    EXPECT_TRUE(values->second.contains(value)) << name << "=" << value;
  }
  EXPECT_GT(checked, 100u);
}

}  // namespace
}  // namespace hart
