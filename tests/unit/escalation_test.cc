// Deadlines, escalation ladders and dead letters with the manual clock: the
// delivery state machine, the ladder's steps at exactly their delays, stops,
// restarts mid-ladder, no flood, no head-of-line blocking.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>

#include "absl/synchronization/mutex.h"
#include "broker/acks/ack_recorder.h"
#include "broker/acks/escalation_ladders.h"
#include "broker/acks/redelivery.h"
#include "broker/common/time_util.h"
#include "broker/dispatch/dispatcher.h"
#include "broker/intake/intake_pipeline.h"
#include "broker/intake/referral_updater.h"
#include "broker/store/sqlite/sqlite_db.h"
#include "broker/store/store_factory.h"
#include "broker/timers/timer_runner.h"
#include "tests/support/test_support.h"

namespace hart {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using hart::testing::ConnecticutConfig;
using hart::testing::FakeRandom;
using hart::testing::LoadIntake;
using hart::testing::TempDir;
using hart::testing::TestNow;

// Fails every delivery to the agencies in `failing`, delivers the rest.
class SelectiveAdapter final : public Adapter {
 public:
  std::string_view type() const override { return "selective"; }
  void Deliver(const DeliveryRecord& d, DoneCallback done) override {
    ++calls[d.agency_id];
    if (failing.count(d.agency_id)) {
      done(DeliveryResult::Failed(absl::UnavailableError("partner down")));
    } else {
      done(DeliveryResult::Delivered("ok"));
    }
  }
  std::set<std::string> failing;
  std::map<std::string, int> calls;
};

Geography BuildGeography() {
  std::vector<std::string> problems;
  return Geography::Build(ConnecticutConfig(), &problems);
}

// The broker's parts that act over time, on one data directory.
struct Broker {
  Broker(const std::string& dir, ManualClock& clock, SelectiveAdapter& adapter,
         uint64_t id_seed = 0, WriteQueueObserver* commits = nullptr)
      : clock(clock),
        random(id_seed),
        store(std::move(OpenSqliteStore(dir).value())),
        writes(std::make_unique<WriteQueue>(*store, 16, WriteQueue::AfterCommitFn{}, commits)),
        pipeline(geography, router, *writes, clock, ids, ladders),
        updater(geography, router, views, ids, ladders),
        timers(*store, *writes, updater, ladders, clock, absl::Minutes(1), {}),
        acks(*store, *writes, executor, clock, ladders),
        redeliverer(*store, geography, ladders, clock, ids) {
    std::map<std::string, Adapter*> by_agency;
    for (const auto& agency : ConnecticutConfig().agencies()) by_agency[agency.id()] = &adapter;
    DispatchPolicy policy;
    policy.budget = {5, absl::Hours(2)};
    policy.backoff = {absl::Seconds(10), absl::Minutes(5)};
    dispatcher = std::make_unique<Dispatcher>(*store, by_agency, clock, random, policy, ladders);
  }
  v1::Receipt Submit(const v1::Intake& intake) {
    std::promise<absl::StatusOr<v1::Receipt>> promise;
    pipeline.Submit(intake, "careline/test", [&](auto r) { promise.set_value(std::move(r)); });
    auto result = promise.get_future().get();
    EXPECT_TRUE(result.ok()) << result.status();
    return *result;
  }
  // Runs timers and the dispatcher until nothing more is due now.
  void Settle() {
    for (int i = 0; i < 50; ++i) {
      const size_t fired = timers.RunOnce().value();
      const size_t sent = dispatcher->RunOnce().value();
      if (fired == 0 && sent == 0) return;
    }
    ADD_FAILURE() << "did not settle";
  }
  std::vector<EscalationRecord> Escalations() { return store->ReadEscalations(0, 1000).value(); }
  std::vector<EscalationRecord> EscalationsOf(const std::string& delivery_id) {
    return store->EscalationsOf(delivery_id).value();
  }

  ManualClock& clock;
  Geography geography = BuildGeography();
  Router router{ConnecticutConfig(), geography};
  ViewBuilder views{ConnecticutConfig()};
  FakeRandom random;
  IdGenerator ids{random};
  EscalationLadders ladders{ConnecticutConfig(), geography, ids};
  std::unique_ptr<Store> store;
  std::unique_ptr<WriteQueue> writes;
  StoreExecutor executor;
  IntakePipeline pipeline;
  ReferralUpdater updater;
  TimerRunner timers;
  AckRecorder acks;
  Redeliverer redeliverer;
  std::unique_ptr<Dispatcher> dispatcher;
};

class EscalationTest : public ::testing::Test {
 protected:
  EscalationTest() : clock_(TestNow()) {
    broker_ = std::make_unique<Broker>(dir_.path(), clock_, adapter_);
    // Waterbury labor trafficking: police (4 h), task force, CSAO, MDT (24 h).
    receipt_ = broker_->Submit(LoadIntake("labor-trafficking-waterbury"));
    for (const auto& d : receipt_.destinations()) {
      if (d.agency_id() == "waterbury-pd") police_ = d.delivery_id();
    }
    deadline_ = TestNow() + absl::Hours(4);
    broker_->Settle();
  }
  void At(absl::Duration after_deadline) {
    clock_.Set(deadline_ + after_deadline);
    broker_->Settle();
  }
  std::vector<uint32_t> PoliceSteps() {
    std::vector<uint32_t> steps;
    for (const auto& e : broker_->EscalationsOf(police_)) steps.push_back(e.step);
    return steps;
  }

  TempDir dir_;
  ManualClock clock_;
  SelectiveAdapter adapter_;
  std::unique_ptr<Broker> broker_;
  v1::Receipt receipt_;
  std::string police_;
  absl::Time deadline_;
};

TEST_F(EscalationTest, EveryDeliveryHasADeadlineAndALadderWaitingAtIt) {
  auto delivery = broker_->store->GetDelivery(police_).value();
  EXPECT_EQ(delivery.state, v1::DELIVERED);
  EXPECT_EQ(delivery.ack_deadline, deadline_);
  const auto timers = broker_->store->PendingTimers(receipt_.referral_id()).value();
  ASSERT_EQ(timers.size(), 4u);  // one ladder per destination
  for (const auto& t : timers) {
    EXPECT_EQ(t.kind, TimerRecord::Kind::kLadder);
    EXPECT_EQ(t.step, 1u);
  }
}

// Issue 15: a ladder waiting at its deadline is kept in its delivery's row
// (broker/store/ladder_starts.h), not as a timer row with its own indexes;
// the first claim once due moves it to the timers table.
TEST_F(EscalationTest, AWaitingLadderIsHeldInItsDeliveryRowUntilDue) {
  auto raw = sqlite::SqliteDb::Open(dir_.path() + "/hart.db", /*read_only=*/true);
  ASSERT_TRUE(raw.ok()) << raw.status();
  auto count = [&](const std::string& sql) -> int64_t {
    auto stmt = (*raw)->Prepare(sql);
    EXPECT_TRUE(stmt.ok() && (*stmt)->Step().value_or(false)) << sql;
    return stmt.ok() ? (*stmt)->Int(0) : -1;
  };
  EXPECT_EQ(count("SELECT COUNT(*) FROM timers WHERE kind = 1"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM deliveries WHERE ladder_due_at IS NOT NULL"), 4);
  At(absl::ZeroDuration());  // the police deadline: its step 1 runs
  EXPECT_THAT(PoliceSteps(), ElementsAre(1u));
  EXPECT_EQ(count("SELECT COUNT(*) FROM deliveries WHERE ladder_due_at IS NOT NULL"), 3);
  EXPECT_EQ(count("SELECT COUNT(*) FROM timers WHERE kind = 1 AND state = 1"), 1);
}

TEST_F(EscalationTest, Step1AtExactlyTheDeadlineStep2AtItsDelayAcceptedStopsTheLadder) {
  At(-absl::Seconds(1));
  EXPECT_THAT(PoliceSteps(), IsEmpty());
  At(absl::ZeroDuration());
  EXPECT_THAT(PoliceSteps(), ElementsAre(1));
  auto step1 = broker_->EscalationsOf(police_)[0];
  EXPECT_EQ(step1.reason, v1::ACK_DEADLINE_MISSED);
  EXPECT_THAT(step1.notified_agency_ids, ElementsAre("waterbury-pd"));
  // The re-notification is itself a delivery, on its way to the agency.
  auto notice = broker_->store->GetDelivery(step1.notice_delivery_ids[0]).value();
  EXPECT_EQ(notice.kind, v1::ESCALATION);
  EXPECT_EQ(notice.state, v1::DELIVERED);
  EXPECT_EQ(notice.escalation->escalated_delivery_id(), police_);
  EXPECT_EQ(notice.escalation->target(), v1::RENOTIFY_AGENCY);

  At(absl::Minutes(30) - absl::Seconds(1));
  EXPECT_THAT(PoliceSteps(), ElementsAre(1));
  At(absl::Minutes(30));
  EXPECT_THAT(PoliceSteps(), ElementsAre(1, 2));
  auto step2 = broker_->EscalationsOf(police_)[1];
  auto backup = broker_->store->GetDelivery(step2.notice_delivery_ids[0]).value();
  EXPECT_EQ(backup.escalation->target(), v1::AGENCY_BACKUP_CONTACT);
  EXPECT_FALSE(backup.escalation->contact_email().empty());

  ASSERT_TRUE(broker_->acks.Acknowledge("waterbury-pd", police_, v1::Acknowledgement::ACCEPTED, "",
                                        "agency/waterbury-pd").ok());
  At(absl::Hours(10));
  EXPECT_THAT(PoliceSteps(), ElementsAre(1, 2));  // stopped
}

// The claims take URGENT deliveries first (records.h): an urgent referral's
// deliveries are URGENT, and so are the escalation notices they cause.
TEST_F(EscalationTest, AnUrgentReferralsDeliveriesAndTheirNoticesAreUrgent) {
  EXPECT_EQ(broker_->store->GetDelivery(police_)->priority, v1::NORMAL);
  const v1::Receipt urgent = broker_->Submit(LoadIntake("urgent-hotel-bridgeport"));
  ASSERT_EQ(urgent.priority(), v1::URGENT);
  std::string police;
  for (const auto& d : urgent.destinations()) {
    EXPECT_EQ(broker_->store->GetDelivery(d.delivery_id())->priority, v1::URGENT)
        << d.agency_id();
    if (d.agency_kind() == v1::LOCAL_LAW_ENFORCEMENT) police = d.delivery_id();
  }
  ASSERT_FALSE(police.empty());
  clock_.Set(TestNow() + absl::Hours(1));  // the urgent police deadline
  broker_->Settle();
  const auto steps = broker_->EscalationsOf(police);
  ASSERT_EQ(steps.size(), 1u);
  ASSERT_EQ(steps[0].notice_delivery_ids.size(), 1u);
  EXPECT_EQ(broker_->store->GetDelivery(steps[0].notice_delivery_ids[0])->priority, v1::URGENT);
}

TEST_F(EscalationTest, LaterStepsReachTheRegionalLeadAndTheCoordinator) {
  At(absl::Hours(2));
  EXPECT_THAT(PoliceSteps(), ElementsAre(1, 2, 3, 4));
  const auto steps = broker_->EscalationsOf(police_);
  EXPECT_THAT(steps[2].notified_agency_ids, ElementsAre("hart-lead-region-5"));
  EXPECT_THAT(steps[3].notified_agency_ids, ElementsAre("dcf-hart-coordinator"));
  At(absl::Hours(20));
  EXPECT_EQ(PoliceSteps().size(), 4u);  // the ladder ends after its last step
}

TEST_F(EscalationTest, DeclinedEscalatesImmediately) {
  clock_.Set(TestNow() + absl::Minutes(5));
  ASSERT_TRUE(broker_->acks.Acknowledge("waterbury-pd", police_, v1::Acknowledgement::DECLINED,
                                        "not our jurisdiction", "agency/waterbury-pd").ok());
  broker_->Settle();
  const auto steps = broker_->EscalationsOf(police_);
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].reason, v1::DECLINED_BY_AGENCY);
  EXPECT_EQ(steps[0].at, TestNow() + absl::Minutes(5));
  // Later steps keep their spacing from the decline.
  clock_.Advance(absl::Minutes(30));
  broker_->Settle();
  EXPECT_EQ(broker_->EscalationsOf(police_).size(), 2u);
}

TEST_F(EscalationTest, AnUndeliverableDeliveryGoesDeadOnceAndEscalatesOncePerStep) {
  adapter_.failing = {"csao"};
  auto second = broker_->Submit(LoadIntake("school-sex-trafficking-hartford"));
  std::string csao;
  for (const auto& d : second.destinations()) {
    if (d.agency_id() == "csao") csao = d.delivery_id();
  }
  // Retry with backoff until the attempt budget (5) runs out.
  for (int i = 0; i < 40; ++i) {
    clock_.Advance(absl::Minutes(1));
    broker_->Settle();
  }
  const auto dead = broker_->store->GetDelivery(csao).value();
  EXPECT_EQ(dead.state, v1::DEAD);
  EXPECT_EQ(dead.attempts, 5u);
  auto steps = broker_->EscalationsOf(csao);
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].reason, v1::UNDELIVERABLE);
  // However long it stays dead, each step runs once.
  clock_.Advance(absl::Hours(30));
  broker_->Settle();
  EXPECT_EQ(broker_->EscalationsOf(csao).size(), 4u);
  clock_.Advance(absl::Hours(30));
  broker_->Settle();
  EXPECT_EQ(broker_->EscalationsOf(csao).size(), 4u);
}

TEST_F(EscalationTest, TheTimeBudgetAlsoLeadsToDead) {
  adapter_.failing = {"csao"};
  auto second = broker_->Submit(LoadIntake("school-sex-trafficking-hartford"));
  std::string csao;
  for (const auto& d : second.destinations()) {
    if (d.agency_id() == "csao") csao = d.delivery_id();
  }
  broker_->Settle();
  // One failure, then a retry far in the future falls outside the 2 h budget.
  clock_.Advance(absl::Hours(3));
  broker_->Settle();
  EXPECT_EQ(broker_->store->GetDelivery(csao)->state, v1::DEAD);
  EXPECT_LE(broker_->store->GetDelivery(csao)->attempts, 2u);
}

// The wall clock stepping (NTP, an operator): steps are due at stored
// times, compared with the clock's now; a step back never runs one again
// nor early, a step forward runs what fell due, each once, in order.
TEST_F(EscalationTest, TheClockSteppingBackRunsNothingAgainForwardRunsWhatFellDueOnce) {
  At(-absl::Seconds(1));
  At(-absl::Minutes(10));  // back by minutes before the deadline
  EXPECT_THAT(PoliceSteps(), IsEmpty());
  At(absl::ZeroDuration());
  EXPECT_THAT(PoliceSteps(), ElementsAre(1));
  At(-absl::Minutes(10));  // back past the step that ran
  EXPECT_THAT(PoliceSteps(), ElementsAre(1));
  At(absl::Minutes(30) - absl::Seconds(1));  // not early after the step back
  EXPECT_THAT(PoliceSteps(), ElementsAre(1));
  At(absl::Hours(3));  // forward by hours: steps 2 to 4 fell due meanwhile
  EXPECT_THAT(PoliceSteps(), ElementsAre(1, 2, 3, 4));
  for (const auto& step : broker_->EscalationsOf(police_)) {
    if (step.step > 1) {
      EXPECT_EQ(step.at, clock_.Now());
    }
  }
  At(absl::Hours(3) - absl::Minutes(10));
  At(absl::Minutes(20));
  At(absl::Hours(3));
  EXPECT_THAT(PoliceSteps(), ElementsAre(1, 2, 3, 4));
  const auto all = broker_->Escalations();
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].sequence, i + 1);
}

TEST_F(EscalationTest, RestartMidLadderNeverRepeatsNorSkipsAStep) {
  At(absl::ZeroDuration());
  EXPECT_THAT(PoliceSteps(), ElementsAre(1));
  // The broker stops 10 minutes later and comes back 2.5 hours later:
  // steps 2, 3 and 4 fell due while it was down.
  broker_.reset();
  clock_.Set(deadline_ + absl::Hours(2) + absl::Minutes(30));
  broker_ = std::make_unique<Broker>(dir_.path(), clock_, adapter_, /*id_seed=*/1 << 30);
  ASSERT_TRUE(broker_->store->ReleaseClaims(clock_.Now()).ok());
  broker_->Settle();
  EXPECT_THAT(PoliceSteps(), ElementsAre(1, 2, 3, 4));
  for (const auto& step : broker_->EscalationsOf(police_)) {
    if (step.step > 1) {
      EXPECT_EQ(step.at, clock_.Now());  // ran once, on start
    }
  }
  // The global sequence has no gaps.
  const auto all = broker_->Escalations();
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].sequence, i + 1);
}

TEST_F(EscalationTest, OneFailingDestinationNeverHoldsUpTheOthers) {
  adapter_.failing = {"waterbury-pd"};
  // Three hours of intakes, one every 10 minutes, while police is down.
  std::vector<v1::Receipt> receipts;
  for (int i = 0; i < 18; ++i) {
    auto intake = LoadIntake("labor-trafficking-waterbury");
    intake.set_careline_report_id("CL-HOL-" + std::to_string(i));
    receipts.push_back(broker_->Submit(intake));
    broker_->Settle();
    // Everything but police went out in the same pass, without waiting.
    for (const auto& d : receipts.back().destinations()) {
      const auto state = broker_->store->GetDelivery(d.delivery_id())->state;
      if (d.agency_id() == "waterbury-pd") {
        EXPECT_NE(state, v1::DELIVERED);
      } else {
        EXPECT_EQ(state, v1::DELIVERED) << d.agency_id();
      }
    }
    clock_.Advance(absl::Minutes(10));
  }
}

// Counts the writer queue's group commits.
class CommitCounter final : public WriteQueueObserver {
 public:
  void OnBatchWritten(size_t items, absl::Duration, bool committed) override {
    absl::MutexLock lock(&mu_);
    batches_ += committed ? 1 : 0;
    items_ += committed ? items : 0;
  }
  std::pair<size_t, size_t> BatchesAndItems() {
    absl::MutexLock lock(&mu_);
    return {batches_, items_};
  }

 private:
  absl::Mutex mu_;
  size_t batches_ ABSL_GUARDED_BY(mu_) = 0;
  size_t items_ ABSL_GUARDED_BY(mu_) = 0;
};

// A partner that acknowledges nothing makes its ladder steps fall due
// together: a claimed batch of them shares group commits (the writer queue
// takes what queued while it committed), not one fsync per step.
TEST(EscalationBatchTest, LadderStepsDueTogetherShareGroupCommits) {
  TempDir dir;
  ManualClock clock(TestNow());
  SelectiveAdapter adapter;
  CommitCounter commits;
  Broker broker(dir.path(), clock, adapter, 0, &commits);
  constexpr int kReferrals = 8;
  std::vector<std::string> police;
  for (int i = 0; i < kReferrals; ++i) {
    auto intake = LoadIntake("labor-trafficking-waterbury");
    intake.set_careline_report_id("CL-STORM-" + std::to_string(i));
    const v1::Receipt receipt = broker.Submit(intake);
    for (const auto& d : receipt.destinations()) {
      if (d.agency_id() == "waterbury-pd") police.push_back(d.delivery_id());
    }
  }
  ASSERT_EQ(police.size(), static_cast<size_t>(kReferrals));
  broker.Settle();

  clock.Set(TestNow() + absl::Hours(4));  // the police deadline of every one
  const auto [batches_before, items_before] = commits.BatchesAndItems();
  EXPECT_EQ(broker.timers.RunOnce().value(), static_cast<size_t>(kReferrals));
  const auto [batches_after, items_after] = commits.BatchesAndItems();
  EXPECT_EQ(items_after - items_before, static_cast<size_t>(kReferrals));
  EXPECT_LT(batches_after - batches_before, static_cast<size_t>(kReferrals));
  for (const std::string& id : police) {
    const auto steps = broker.EscalationsOf(id);
    ASSERT_EQ(steps.size(), 1u) << id;
    EXPECT_EQ(steps[0].step, 1u);
    EXPECT_EQ(steps[0].reason, v1::ACK_DEADLINE_MISSED);
  }
}

TEST_F(EscalationTest, OverdueReferralsAreListedUntilAccepted) {
  ReferralQuery query;
  query.overdue_at = deadline_ - absl::Seconds(1);
  EXPECT_THAT(broker_->store->ListReferrals(query).value(), IsEmpty());
  query.overdue_at = deadline_;
  auto overdue = broker_->store->ListReferrals(query).value();
  ASSERT_EQ(overdue.size(), 1u);
  EXPECT_EQ(overdue[0].referral_id, receipt_.referral_id());
  EXPECT_EQ(overdue[0].overdue, 1u);  // police only (the others have 24 h)
  ASSERT_TRUE(broker_->acks.Acknowledge("waterbury-pd", police_, v1::Acknowledgement::ACCEPTED, "",
                                        "agency/waterbury-pd").ok());
  EXPECT_THAT(broker_->store->ListReferrals(query).value(), IsEmpty());
}

TEST_F(EscalationTest, RedeliveringADeadDeliveryStartsAFreshOneAndStopsTheOldLadder) {
  adapter_.failing = {"waterbury-pd"};
  auto second = broker_->Submit([] {
    auto intake = LoadIntake("labor-trafficking-waterbury");
    intake.set_careline_report_id("CL-REDELIVER");
    return intake;
  }());
  std::string police;
  for (const auto& d : second.destinations()) {
    if (d.agency_id() == "waterbury-pd") police = d.delivery_id();
  }
  for (int i = 0; i < 40 && broker_->store->GetDelivery(police)->state != v1::DEAD; ++i) {
    clock_.Advance(absl::Minutes(1));
    broker_->Settle();
  }
  ASSERT_EQ(broker_->store->GetDelivery(police)->state, v1::DEAD);
  EXPECT_EQ(broker_->redeliverer.Redeliver(police, "", "", "supervisor/x").status().code(),
            absl::StatusCode::kInvalidArgument);  // a reason is required
  adapter_.failing.clear();
  auto fresh = broker_->redeliverer.Redeliver(police, "csp-troop-a", "troop covers tonight",
                                              "supervisor/x");
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(fresh->priority, broker_->store->GetDelivery(police)->priority);
  broker_->Settle();
  EXPECT_EQ(broker_->store->GetDelivery(fresh->delivery_id)->state, v1::DELIVERED);
  EXPECT_EQ(broker_->store->GetDelivery(police)->redelivered_as, fresh->delivery_id);
  const size_t before = broker_->EscalationsOf(police).size();
  clock_.Advance(absl::Hours(30));
  broker_->Settle();
  EXPECT_EQ(broker_->EscalationsOf(police).size(), before);  // the old ladder stopped
  EXPECT_EQ(broker_->redeliverer.Redeliver(police, "", "again", "supervisor/x").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace hart
