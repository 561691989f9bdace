// Escalation through the real binary, with a config whose deadlines and
// ladder steps are seconds: an agency that never acknowledges triggers its
// ladder in order, visible on WatchEscalations and in `hartctl list
// --overdue`; a supervisor's redelivery of a declined delivery arrives.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <regex>

#include "tests/e2e/broker_process.h"
#include "tests/e2e/fast_policy.h"

namespace hart::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

int Hartctl(const std::string& args, std::string* output) {
  CommandOutput out = RunHartctl(args);
  *output += out.text;
  return out.exit_code;
}

TEST(EscalationE2ETest, AnAgencyThatNeverAcksTriggersItsLadderInOrder) {
  TempDir dir;
  BrokerProcess broker(dir.path() + "/data", WriteFastPolicy(dir.path()));
  ASSERT_TRUE(broker.running());
  auto supervisor = broker.Supervisor();
  grpc::ClientContext watch_context;
  watch_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto watch = supervisor->WatchEscalations(&watch_context, v1::WatchEscalationsRequest());

  v1::SubmitIntakeRequest request;
  *request.mutable_intake() = LoadIntake("labor-trafficking-waterbury");
  v1::SubmitIntakeResponse response;
  ASSERT_TRUE(broker.Intake()->SubmitIntake(CallContext().get(), request, &response).ok());
  std::string police;
  for (const auto& d : response.receipt().destinations()) {
    if (d.agency_id() == "waterbury-pd") police = d.delivery_id();
  }
  // Everyone else accepts; police never does.
  for (const auto& d : response.receipt().destinations()) {
    if (d.agency_id() != "waterbury-pd") DrainFeed(broker, d.agency_id(), {d.delivery_id()});
  }

  std::vector<v1::EscalationEvent> police_steps;
  uint64_t last_sequence = 0;
  v1::EscalationEvent event;
  while (police_steps.size() < 4 && watch->Read(&event)) {
    EXPECT_EQ(event.sequence(), last_sequence + 1) << "gap in the escalation stream";
    last_sequence = event.sequence();
    if (event.delivery_id() == police) police_steps.push_back(event);
  }
  watch_context.TryCancel();
  watch->Finish();
  ASSERT_EQ(police_steps.size(), 4u);
  for (uint32_t i = 0; i < 4; ++i) {
    EXPECT_EQ(police_steps[i].step(), i + 1);
    EXPECT_EQ(police_steps[i].reason(), v1::ACK_DEADLINE_MISSED);
  }
  EXPECT_THAT(police_steps[0].notified_agency_ids(), ElementsAre("waterbury-pd"));
  EXPECT_THAT(police_steps[1].notified_agency_ids(), ElementsAre("waterbury-pd"));
  EXPECT_THAT(police_steps[2].notified_agency_ids(), ElementsAre("hart-lead-region-5"));
  EXPECT_THAT(police_steps[3].notified_agency_ids(), ElementsAre("dcf-hart-coordinator"));
  // The regional lead finds the escalation on its own feed.
  const auto lead_events =
      DrainFeed(broker, "hart-lead-region-5", {police_steps[2].notice_delivery_ids(0)});
  EXPECT_EQ(lead_events.size(), 1u);

  std::string listed;
  EXPECT_EQ(Hartctl("--target 127.0.0.1:" + std::to_string(broker.port()) + " list --overdue",
                    &listed),
            0)
      << listed;
  EXPECT_THAT(listed, HasSubstr(response.receipt().referral_id()));
  std::string watched;
  EXPECT_EQ(Hartctl("--target 127.0.0.1:" + std::to_string(broker.port()) +
                        " watch --max_events 2",
                    &watched),
            0)
      << watched;
  EXPECT_THAT(watched, HasSubstr("seq=1 "));
  EXPECT_THAT(watched, HasSubstr("seq=2 "));
}

TEST(EscalationE2ETest, ASupervisorsRedeliveryOfADeclinedDeliveryIsDelivered) {
  TempDir dir;
  BrokerProcess broker(dir.path() + "/data");
  ASSERT_TRUE(broker.running());
  v1::SubmitIntakeRequest request;
  *request.mutable_intake() = LoadIntake("labor-trafficking-waterbury");
  v1::SubmitIntakeResponse response;
  ASSERT_TRUE(broker.Intake()->SubmitIntake(CallContext().get(), request, &response).ok());
  std::string mdt;
  for (const auto& d : response.receipt().destinations()) {
    if (d.agency_id() == "mdt-waterbury") mdt = d.delivery_id();
  }
  DrainFeed(broker, "mdt-waterbury", {mdt}, 0, /*ack=*/false);
  v1::AcknowledgeRequest decline;
  decline.set_delivery_id(mdt);
  decline.set_kind(v1::Acknowledgement::DECLINED);
  decline.set_note("we do not cover labor cases");
  v1::AcknowledgeResponse declined;
  ASSERT_TRUE(broker.Feed("mdt-waterbury")->Acknowledge(CallContext().get(), decline, &declined).ok());
  EXPECT_EQ(declined.state(), v1::DECLINED);

  std::string out;
  ASSERT_EQ(Hartctl("--target 127.0.0.1:" + std::to_string(broker.port()) + " --json redeliver " +
                        mdt + " --to mdt-new-haven --reason 'covers labor cases statewide'",
                    &out),
            0)
      << out;
  const std::smatch match = [&] {
    std::smatch m;
    std::regex_search(out, m, std::regex("dlv_[0-9A-Z]+"));
    return m;
  }();
  ASSERT_FALSE(match.empty()) << out;
  const std::string fresh = match.str();
  EXPECT_EQ(DrainFeed(broker, "mdt-new-haven", {fresh}), std::vector<std::string>{fresh});
  v1::ReferralStatus status;
  v1::GetReferralRequest get;
  get.set_referral_id(response.receipt().referral_id());
  ASSERT_TRUE(broker.Supervisor()->GetReferral(CallContext().get(), get, &status).ok());
  bool found_old = false, found_new = false;
  for (const auto& d : status.deliveries()) {
    if (d.delivery_id() == mdt) {
      found_old = true;
      EXPECT_EQ(d.redelivered_as(), fresh);
      std::vector<std::string> actions;
      for (const auto& t : d.timeline()) actions.push_back(t.action());
      EXPECT_THAT(actions, ::testing::Contains("delivery.ack.declined"));
      EXPECT_THAT(actions, ::testing::Contains("delivery.redelivered"));
    }
    if (d.delivery_id() == fresh) {
      found_new = true;
      EXPECT_EQ(d.state(), v1::ACKNOWLEDGED);
    }
  }
  EXPECT_TRUE(found_old && found_new);

  // A partner that confirmed by phone: the supervisor records it.
  std::string csao;
  for (const auto& d : response.receipt().destinations()) {
    if (d.agency_id() == "csao") csao = d.delivery_id();
  }
  std::string refused;
  EXPECT_EQ(Hartctl("--target 127.0.0.1:" + std::to_string(broker.port()) + " ack-on-behalf " +
                        csao + " --kind accepted",
                    &refused),
            2);  // no reason
  std::string acked;
  EXPECT_EQ(Hartctl("--target 127.0.0.1:" + std::to_string(broker.port()) + " ack-on-behalf " +
                        csao + " --kind accepted --reason 'confirmed by phone'",
                    &acked),
            0)
      << acked;
  EXPECT_THAT(acked, HasSubstr("ACKNOWLEDGED"));
}

}  // namespace
}  // namespace hart::testing
