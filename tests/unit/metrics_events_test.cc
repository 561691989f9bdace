// The metrics the components record as things happen, read back from the
// scrape: intakes by outcome, acknowledgement latency in buckets at the
// policy's deadlines, delivery attempts and dead letters, escalation steps,
// group commits. Time is a manual clock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/metrics_scrape.h"
#include "tests/unit/instrumented_broker.h"

namespace hart {
namespace {

using ::testing::Optional;
using hart::testing::InstrumentedBroker;
using hart::testing::LoadIntake;
using hart::testing::PartnersAdapter;
using hart::testing::SampleValue;
using hart::testing::TempDir;
using hart::testing::TestNow;

class MetricsEventsTest : public ::testing::Test {
 protected:
  std::optional<double> Value(const std::string& series) {
    return SampleValue(broker_.metrics.Scrape(), series);
  }

  TempDir dir_;
  ManualClock clock_{TestNow()};
  PartnersAdapter adapter_;
  InstrumentedBroker broker_{dir_.path(), clock_, adapter_};
};

TEST_F(MetricsEventsTest, CountsIntakesByOutcome) {
  // Every outcome is there from the start.
  EXPECT_THAT(Value("hart_intakes_total{outcome=\"created\"}"), Optional(0.0));
  EXPECT_THAT(Value("hart_intakes_total{outcome=\"unavailable\"}"), Optional(0.0));

  v1::Intake intake = LoadIntake("labor-trafficking-waterbury");
  ASSERT_TRUE(broker_.Submit(intake).ok());
  ASSERT_TRUE(broker_.Submit(intake).ok());  // the same again: a duplicate
  v1::Intake changed = intake;
  changed.mutable_concern()->set_narrative("Another account of the same report.");
  EXPECT_TRUE(absl::IsAlreadyExists(broker_.Submit(changed).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      broker_.Submit(LoadIntake("invalid-adult-not-dcf")).status()));

  EXPECT_THAT(Value("hart_intakes_total{outcome=\"created\"}"), Optional(1.0));
  EXPECT_THAT(Value("hart_intakes_total{outcome=\"duplicate\"}"), Optional(1.0));
  EXPECT_THAT(Value("hart_intakes_total{outcome=\"conflict\"}"), Optional(1.0));
  EXPECT_THAT(Value("hart_intakes_total{outcome=\"invalid\"}"), Optional(1.0));
  EXPECT_THAT(Value("hart_intakes_total{outcome=\"failed\"}"), Optional(0.0));
}

// Verifies "accepted within its deadline" is one bucket: police of a labor
// trafficking referral have 4 h; an ACCEPTED after 3 h counts in le=4 h and
// not in le=2 h.
TEST_F(MetricsEventsTest, TimesAcknowledgementsFromCreationInBucketsAtTheDeadlines) {
  auto receipt = broker_.Submit(LoadIntake("labor-trafficking-waterbury"));
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  broker_.Settle();  // every push partner answers at once: RECEIVED after 0 s
  const std::string police = InstrumentedBroker::DeliveryTo(*receipt, "waterbury-pd");

  clock_.Advance(absl::Hours(3));
  ASSERT_TRUE(broker_.acks.Acknowledge("waterbury-pd", police, v1::Acknowledgement::ACCEPTED, "",
                                       "agency/waterbury-pd")
                  .ok());
  const std::string accepted =
      "{ack_kind=\"accepted\",agency_kind=\"local_law_enforcement\"";
  EXPECT_THAT(Value("hart_ack_latency_seconds_count" + accepted + "}"), Optional(1.0));
  EXPECT_THAT(Value("hart_ack_latency_seconds_sum" + accepted + "}"), Optional(3 * 3600.0));
  EXPECT_THAT(Value("hart_ack_latency_seconds_bucket" + accepted + ",le=\"7200\"}"),
              Optional(0.0));
  EXPECT_THAT(Value("hart_ack_latency_seconds_bucket" + accepted + ",le=\"14400\"}"),
              Optional(1.0));
  // The push partners' transport acknowledgements, one per destination.
  EXPECT_THAT(Value("hart_ack_latency_seconds_bucket{ack_kind=\"received\","
                    "agency_kind=\"ht_task_force\",le=\"60\"}"),
              Optional(1.0));
  // A repeat changes nothing and is not counted again.
  ASSERT_TRUE(broker_.acks.Acknowledge("waterbury-pd", police, v1::Acknowledgement::ACCEPTED, "",
                                       "agency/waterbury-pd")
                  .ok());
  EXPECT_THAT(Value("hart_ack_latency_seconds_count" + accepted + "}"), Optional(1.0));
}

TEST_F(MetricsEventsTest, KeepsEachAgencyKindAndAckKindInItsOwnSeries) {
  v1::Intake first = LoadIntake("labor-trafficking-waterbury");
  v1::Intake second = first;
  second.set_careline_report_id(first.careline_report_id() + "-2");
  auto one = broker_.Submit(first);
  auto two = broker_.Submit(second);
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_TRUE(two.ok()) << two.status();
  broker_.Settle();  // the push partners' RECEIVED, one per destination
  const std::string police_one = InstrumentedBroker::DeliveryTo(*one, "waterbury-pd");
  const std::string police_two = InstrumentedBroker::DeliveryTo(*two, "waterbury-pd");
  for (const auto& [delivery, kind] :
       {std::pair{police_one, v1::Acknowledgement::RECEIVED},
        std::pair{police_one, v1::Acknowledgement::ACCEPTED},
        std::pair{police_two, v1::Acknowledgement::RECEIVED}}) {
    ASSERT_TRUE(broker_.acks.Acknowledge("waterbury-pd", delivery, kind, "",
                                         "agency/waterbury-pd")
                    .ok());
  }
  auto count = [&](const std::string& ack_kind, const std::string& agency_kind) {
    return Value("hart_ack_latency_seconds_count{ack_kind=\"" + ack_kind +
                 "\",agency_kind=\"" + agency_kind + "\"}");
  };
  EXPECT_THAT(count("received", "local_law_enforcement"), Optional(2.0));
  EXPECT_THAT(count("accepted", "local_law_enforcement"), Optional(1.0));
  EXPECT_THAT(count("received", "ht_task_force"), Optional(2.0));
  EXPECT_THAT(count("received", "mdt"), Optional(2.0));
  EXPECT_THAT(count("accepted", "ht_task_force"), std::nullopt);
}

TEST_F(MetricsEventsTest, CountsAttemptsDeadLettersAndEscalationSteps) {
  adapter_.failing = {"waterbury-pd"};
  auto receipt = broker_.Submit(LoadIntake("labor-trafficking-waterbury"));
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  // Retries with backoff until the attempt budget (3) runs out.
  for (int i = 0; i < 10; ++i) {
    broker_.Settle();
    clock_.Advance(absl::Minutes(1));
  }
  // Referral deliveries only: the escalation notices to the police fail too.
  const std::string police =
      "adapter_type=\"grpc_feed\",agency_id=\"waterbury-pd\","
      "agency_kind=\"local_law_enforcement\",message_kind=\"referral\"";
  EXPECT_THAT(Value("hart_delivery_attempts_total{" + police + ",result=\"retry\"}"),
              Optional(2.0));
  EXPECT_THAT(Value("hart_delivery_attempts_total{" + police + ",result=\"dead\"}"),
              Optional(1.0));
  EXPECT_THAT(Value("hart_dead_letters_total{" + police + "}"), Optional(1.0));
  EXPECT_THAT(Value("hart_delivery_attempts_total{adapter_type=\"grpc_feed\","
                    "agency_id=\"ct-ht-task-force\",agency_kind=\"ht_task_force\","
                    "message_kind=\"referral\",result=\"delivered\"}"),
              Optional(1.0));
  // The dead letter escalates at once (step 1), the next step 30 min later.
  EXPECT_THAT(Value("hart_escalation_steps_total{agency_kind=\"local_law_enforcement\","
                    "reason=\"undeliverable\",step=\"1\"}"),
              Optional(1.0));
  clock_.Advance(absl::Minutes(30));
  broker_.Settle();
  EXPECT_THAT(Value("hart_escalation_steps_total{agency_kind=\"local_law_enforcement\","
                    "reason=\"undeliverable\",step=\"2\"}"),
              Optional(1.0));
}

TEST_F(MetricsEventsTest, RecordsEachGroupCommitsSize) {
  ASSERT_TRUE(broker_.Submit(LoadIntake("labor-trafficking-waterbury")).ok());
  ASSERT_TRUE(broker_.Submit(LoadIntake("school-sex-trafficking-hartford")).ok());
  // Nothing else writes meanwhile: two commits of one intake each.
  EXPECT_THAT(Value("hart_group_commit_batch_size_count"), Optional(2.0));
  EXPECT_THAT(Value("hart_group_commit_batch_size_sum"), Optional(2.0));
  EXPECT_THAT(Value("hart_group_commit_duration_seconds_count"), Optional(2.0));
  EXPECT_THAT(Value("hart_group_commit_failures_total"), Optional(0.0));
}

}  // namespace
}  // namespace hart
