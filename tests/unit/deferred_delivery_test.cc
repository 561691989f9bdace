// Deferred results through the real Dispatcher and SqliteStore: a delivery
// the adapter (or its guard's open circuit) did not try keeps its attempts,
// comes back at retry_after, and goes DEAD only when the time budget runs
// out, starting its escalation ladder like any dead letter.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <set>

#include "broker/acks/escalation_ladders.h"
#include "broker/dispatch/delivery_guard.h"
#include "broker/dispatch/dispatcher.h"
#include "broker/intake/intake_pipeline.h"
#include "broker/intake/referral_updater.h"
#include "broker/store/store_factory.h"
#include "broker/timers/timer_runner.h"
#include "tests/support/manual_scheduler.h"
#include "tests/support/test_support.h"
#include "tests/unit/delivery_guard_fixture.h"

namespace hart {
namespace {

using ::testing::HasSubstr;
using hart::testing::ConnecticutConfig;
using hart::testing::FakeRandom;
using hart::testing::LoadIntake;
using hart::testing::ManualScheduler;
using hart::testing::TempDir;
using hart::testing::TestNow;

constexpr char kPolice[] = "waterbury-pd";

// Never contacts the partner: every delivery is deferred.
class DeferringAdapter final : public Adapter {
 public:
  std::string_view type() const override { return "deferring"; }
  void Deliver(const DeliveryRecord&, DoneCallback done) override {
    ++calls;
    done(DeliveryResult::Deferred(absl::UnavailableError("partner maintenance window"),
                                  absl::Minutes(10)));
  }
  int calls = 0;
};

// Reaches the partner, which is down.
class DownAdapter final : public Adapter {
 public:
  std::string_view type() const override { return "down"; }
  void Deliver(const DeliveryRecord&, DoneCallback done) override {
    ++calls;
    done(DeliveryResult::Failed(absl::UnavailableError("connection refused")));
  }
  int calls = 0;
};

class DeliveredAdapter final : public Adapter {
 public:
  std::string_view type() const override { return "delivered"; }
  void Deliver(const DeliveryRecord&, DoneCallback done) override {
    done(DeliveryResult::Delivered("ok"));
  }
};

Geography BuildGeography() {
  std::vector<std::string> problems;
  return Geography::Build(ConnecticutConfig(), &problems);
}

class DeferredDeliveryTest : public ::testing::Test {
 protected:
  DeferredDeliveryTest()
      : clock_(TestNow()),
        store_(std::move(OpenSqliteStore(dir_.path()).value())),
        writes_(std::make_unique<WriteQueue>(*store_, 16)),
        pipeline_(geography_, router_, *writes_, clock_, ids_, ladders_),
        updater_(geography_, router_, views_, ids_, ladders_),
        timers_(*store_, *writes_, updater_, ladders_, clock_, absl::Minutes(1), {}) {
    policy_.budget = {3, absl::Hours(2)};
    policy_.backoff = {absl::Seconds(2), absl::Minutes(1)};
  }

  // The police of the example gets `police_adapter`; everyone else is
  // delivered at once.
  void StartWith(Adapter& police_adapter) {
    std::map<std::string, Adapter*> by_agency;
    for (const auto& agency : ConnecticutConfig().agencies()) {
      by_agency[agency.id()] = agency.id() == kPolice ? &police_adapter : &delivered_;
    }
    dispatcher_ = std::make_unique<Dispatcher>(*store_, by_agency, clock_, random_, policy_,
                                               ladders_);
    police_ = SubmitForPolice("");
  }
  // Submits the example intake (its careline id + `suffix`); returns its
  // police delivery's id (empty, with a failure, if there is none).
  std::string SubmitForPolice(const std::string& suffix, bool immediate_danger = false) {
    v1::Intake intake = LoadIntake("labor-trafficking-waterbury");
    intake.set_careline_report_id(intake.careline_report_id() + suffix);
    intake.set_immediate_danger(immediate_danger);
    std::promise<absl::StatusOr<v1::Receipt>> promise;
    auto future = promise.get_future();
    pipeline_.Submit(intake, "careline/test",
                     [&](absl::StatusOr<v1::Receipt> r) { promise.set_value(std::move(r)); });
    EXPECT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    auto receipt = future.get();
    EXPECT_TRUE(receipt.ok()) << receipt.status();
    if (!receipt.ok()) return "";
    for (const auto& d : receipt->destinations()) {
      if (d.agency_id() == kPolice) return d.delivery_id();
    }
    ADD_FAILURE() << "no delivery to " << kPolice;
    return "";
  }
  // The police partner down, behind a guard whose circuit opens on the
  // first failure for 30 minutes; `inner` counts the calls that reach it.
  std::unique_ptr<GuardedAdapter> DownPoliceGuard(ManualScheduler& scheduler,
                                                  DownAdapter*& inner) {
    DeliveryGuardPolicy limits;
    limits.failure_threshold = 1;
    limits.open_for = absl::Minutes(30);
    auto down = std::make_unique<DownAdapter>();
    inner = down.get();
    return std::make_unique<GuardedAdapter>(kPolice, std::move(down), limits, clock_, scheduler);
  }
  DeliveryRecord Police() { return store_->GetDelivery(police_).value(); }
  int AuditCount(const std::string& action) { return AuditCount(police_, action); }
  int AuditCount(const std::string& delivery_id, const std::string& action) {
    AuditQuery query;
    query.delivery_id = delivery_id;
    query.limit = 1000;
    const absl::StatusOr<std::vector<AuditEvent>> events = store_->ListAuditEvents(query);
    if (!events.ok()) {
      ADD_FAILURE() << events.status();
      return -1;
    }
    int n = 0;
    for (const AuditEvent& e : *events) n += e.action == action;
    return n;
  }

  TempDir dir_;
  ManualClock clock_;
  FakeRandom random_;
  IdGenerator ids_{random_};
  Geography geography_ = BuildGeography();
  Router router_{ConnecticutConfig(), geography_};
  ViewBuilder views_{ConnecticutConfig()};
  EscalationLadders ladders_{ConnecticutConfig(), geography_, ids_};
  std::unique_ptr<Store> store_;
  std::unique_ptr<WriteQueue> writes_;
  IntakePipeline pipeline_;
  ReferralUpdater updater_;
  TimerRunner timers_;
  DispatchPolicy policy_;
  DeliveredAdapter delivered_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::string police_;
};

TEST_F(DeferredDeliveryTest, DeferralsKeepTheAttemptsAndDeadLetterOnlyAtTheTimeBudget) {
  DeferringAdapter police;
  StartWith(police);
  const absl::Time created = Police().created_at;
  // Every 10 minutes for 1 h 50 m: far more tries than the 3 attempts.
  int deferrals = 0;
  while (clock_.Now() + absl::Minutes(10) < created + absl::Hours(2)) {
    ASSERT_GT(dispatcher_->RunOnce().value(), 0u);
    ++deferrals;
    const DeliveryRecord d = Police();
    ASSERT_EQ(d.state, v1::PENDING) << "deferral " << deferrals;
    EXPECT_EQ(d.attempts, 0u);
    EXPECT_EQ(d.next_attempt_at, clock_.Now() + absl::Minutes(10));
    EXPECT_THAT(d.last_error, HasSubstr("UNAVAILABLE: partner maintenance window"));
    // Not before retry_after.
    clock_.Advance(absl::Minutes(10) - absl::Milliseconds(1));
    EXPECT_EQ(dispatcher_->RunOnce().value(), 0u);
    clock_.Advance(absl::Milliseconds(1));
  }
  EXPECT_EQ(deferrals, 11);
  EXPECT_EQ(police.calls, 11);
  EXPECT_EQ(AuditCount("delivery.deferred"), 11);
  EXPECT_TRUE(store_->EscalationsOf(police_).value().empty());

  // The next retry would fall outside the 2 h budget: DEAD.
  ASSERT_GT(dispatcher_->RunOnce().value(), 0u);
  const DeliveryRecord dead = Police();
  EXPECT_EQ(dead.state, v1::DEAD);
  EXPECT_EQ(dead.attempts, 0u);
  EXPECT_EQ(AuditCount("delivery.dead"), 1);

  // Its ladder starts as for any dead letter: step 1, UNDELIVERABLE.
  const auto trigger = ladders_.TriggerNow(dead.agency_kind, clock_.Now(), v1::UNDELIVERABLE);
  ASSERT_TRUE(trigger.has_value());
  clock_.Set(trigger->due_at);
  for (int i = 0; i < 10 && timers_.RunOnce().value() > 0; ++i) {
  }
  const auto steps = store_->EscalationsOf(police_).value();
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].step, 1u);
  EXPECT_EQ(steps[0].reason, v1::UNDELIVERABLE);
}

TEST_F(DeferredDeliveryTest, AnOpenCircuitDefersUntilItsProbeWithoutSpendingAttempts) {
  ManualScheduler scheduler(clock_);
  DownAdapter* inner = nullptr;
  std::unique_ptr<GuardedAdapter> guard = DownPoliceGuard(scheduler, inner);
  StartWith(*guard);
  const absl::Time opened = clock_.Now();

  ASSERT_GT(dispatcher_->RunOnce().value(), 0u);  // tried: fails, opens the circuit
  EXPECT_EQ(inner->calls, 1);
  EXPECT_EQ(Police().attempts, 1u);
  EXPECT_EQ(guard->Health().state, AdapterHealth::State::kCircuitOpen);

  clock_.Set(Police().next_attempt_at);  // the backoff: a second or two
  ASSERT_GT(dispatcher_->RunOnce().value(), 0u);  // deferred by the guard
  EXPECT_EQ(inner->calls, 1);
  DeliveryRecord d = Police();
  EXPECT_EQ(d.state, v1::PENDING);
  EXPECT_EQ(d.attempts, 1u);
  EXPECT_EQ(d.next_attempt_at, opened + absl::Minutes(30));
  EXPECT_THAT(d.last_error, HasSubstr("circuit open for waterbury-pd after 1 consecutive"));

  clock_.Set(d.next_attempt_at);
  ASSERT_GT(dispatcher_->RunOnce().value(), 0u);  // the probe reaches the partner
  EXPECT_EQ(inner->calls, 2);
  EXPECT_EQ(Police().attempts, 2u);
  EXPECT_EQ(guard->Health().state, AdapterHealth::State::kCircuitOpen);
  // The guard goes first, then the dispatcher it answers (fixture member).
}

// A partner down with a backlog: the dispatcher claims a batch of it per
// open period, not all of it (batch by batch, each refused and deferred
// again), and leaves the rest of it as it is (moving it cost a write per
// delivery per period), which kept the store's writer busy in proportion to
// the backlog every time a circuit half-opened.
TEST_F(DeferredDeliveryTest, AnOpenCircuitHoldsTheWholeBacklogNotJustTheBatchItRefused) {
  ManualScheduler scheduler(clock_);
  DownAdapter* inner = nullptr;
  std::unique_ptr<GuardedAdapter> guard = DownPoliceGuard(scheduler, inner);
  policy_.claim_batch = 4;
  StartWith(*guard);
  std::vector<std::string> backlog = {police_};
  for (int i = 1; i < 6; ++i) backlog.push_back(SubmitForPolice("-" + std::to_string(i)));
  auto deferrals = [&] {
    int n = 0;
    for (const std::string& id : backlog) n += AuditCount(id, "delivery.deferred");
    return n;
  };
  auto snapshot = [&] {
    std::vector<DeliveryRecord> rows;
    for (const std::string& id : backlog) rows.push_back(store_->GetDelivery(id).value());
    return rows;
  };
  // How many of `rows` are PENDING and due at `at`; how many changed since `before`.
  auto pending_due_at = [](const std::vector<DeliveryRecord>& rows, absl::Time at) {
    return std::count_if(rows.begin(), rows.end(), [&](const DeliveryRecord& d) {
      return d.state == v1::PENDING && d.next_attempt_at == at;
    });
  };
  auto changed = [](const std::vector<DeliveryRecord>& before,
                    const std::vector<DeliveryRecord>& after) {
    int n = 0;
    for (size_t i = 0; i < before.size(); ++i) {
      n += before[i].next_attempt_at != after[i].next_attempt_at ||
           before[i].attempts != after[i].attempts;
    }
    return n;
  };
  auto held_until = [&]() -> std::optional<absl::Time> {
    const std::vector<AgencyHold> holds = dispatcher_->Holds();
    if (holds.size() != 1 || holds[0].agency_id != kPolice) return std::nullopt;
    return holds[0].until;
  };

  // The first try fails and opens the circuit; what else of the backlog its
  // pass claimed is refused until the period's end, and the rest is held
  // without a claim or a write.
  const std::vector<DeliveryRecord> submitted = snapshot();
  const absl::Time opened = clock_.Now();
  for (int pass = 0; pass < 20 && dispatcher_->RunOnce().value() > 0; ++pass) {
  }
  const absl::Time period_end = opened + absl::Minutes(30);
  const std::vector<DeliveryRecord> held = snapshot();
  EXPECT_EQ(inner->calls, 1);
  const int refused = deferrals();
  EXPECT_EQ(pending_due_at(held, period_end), refused);
  EXPECT_EQ(changed(submitted, held), 1 + refused);
  EXPECT_GE(6 - changed(submitted, held), 2) << "the pass after the refusal claimed more";
  EXPECT_EQ(held_until(), period_end);
  EXPECT_EQ(store_->NextDueTime(dispatcher_->Holds()).value().value_or(opened), period_end);

  // The period ends: one batch is claimed (the oldest first), its first
  // delivery probes and fails, the rest of the batch is refused and the
  // agency held again; the remainder of the backlog is not claimed.
  clock_.Set(period_end);
  EXPECT_EQ(dispatcher_->Holds().size(), 0u);
  EXPECT_EQ(dispatcher_->RunOnce().value(), 4u);
  EXPECT_EQ(dispatcher_->RunOnce().value(), 0u);
  const std::vector<DeliveryRecord> after = snapshot();
  EXPECT_EQ(inner->calls, 2);
  EXPECT_EQ(deferrals(), refused + 3);
  const absl::Time next_end = period_end + absl::Minutes(30);
  EXPECT_EQ(held_until(), next_end);
  EXPECT_EQ(pending_due_at(after, next_end), 3);
  EXPECT_EQ(changed(held, after), 4);
  EXPECT_EQ(guard->Health().state, AdapterHealth::State::kCircuitOpen);
}

// The police partner behind a guard, one call at a time, answering each
// call 10 s after the last, with the dispatch loop passing every second.
class SlowPolicePartner {
 public:
  SlowPolicePartner(ManualClock& clock, ManualScheduler& scheduler)
      : clock_(clock), scheduler_(scheduler) {
    DeliveryGuardPolicy limits;
    limits.max_concurrency = 1;
    auto held = std::make_unique<testing::HeldAdapter>();
    partner_ = held.get();
    guard_ = std::make_unique<GuardedAdapter>(kPolice, std::move(held), limits, clock, scheduler);
  }
  GuardedAdapter& guard() { return *guard_; }
  testing::HeldAdapter& partner() { return *partner_; }
  // The guard learns the partner's pace: the first due delivery is sent and
  // answered after 10 s.
  void LearnPace(Dispatcher& dispatcher) {
    EXPECT_GT(dispatcher.RunOnce().value(), 0u);
    EXPECT_EQ(partner_->call_count(), 1u);
    clock_.Advance(absl::Seconds(10));
    partner_->Answer(answered_++, DeliveryResult::Delivered("ok"));
    call_started_ = clock_.Now();
  }
  // One second: the dispatch loop's passes while they claim, the queue's
  // length, then the clock, the scheduler and the partner's answer if due.
  void RunSecond(Dispatcher& dispatcher) {
    for (int pass = 0; pass < 50 && dispatcher.RunOnce().value() > 0; ++pass) {
    }
    longest_queue_ = std::max<size_t>(longest_queue_, guard_->Health().queued);
    clock_.Advance(absl::Seconds(1));
    scheduler_.RunDue();
    if (partner_->call_count() > answered_ && clock_.Now() - call_started_ >= absl::Seconds(10)) {
      partner_->Answer(answered_++, DeliveryResult::Delivered("ok"));
      call_started_ = clock_.Now();
    }
  }
  // Runs seconds until `count` calls are answered (at most `limit` s).
  void RunUntilAnswered(Dispatcher& dispatcher, size_t count, int limit = 600) {
    for (int second = 0; second < limit && answered_ < count; ++second) RunSecond(dispatcher);
  }
  size_t longest_queue() const { return longest_queue_; }

 private:
  ManualClock& clock_;
  ManualScheduler& scheduler_;
  testing::HeldAdapter* partner_ = nullptr;
  std::unique_ptr<GuardedAdapter> guard_;
  size_t answered_ = 0;
  absl::Time call_started_;
  size_t longest_queue_ = 0;
};

// A partner slower than its backlog (a call takes 10 s, one at a time; a
// claim lasts 60 s), with the dispatch loop passing every second: the
// guard queues what it can send within a claim and refuses the rest of
// each claim batch, holding the agency's backlog in the store. Before, it
// queued every claim (up to 1,024), and those that waited past their lease
// were given back unsent and claimed again, lease after lease.
TEST_F(DeferredDeliveryTest, ASlowPartnersBacklogWaitsInTheStoreNotInItsQueue) {
  ManualScheduler scheduler(clock_);
  SlowPolicePartner slow(clock_, scheduler);
  testing::HeldAdapter* partner = &slow.partner();
  policy_.claim_batch = 8;
  StartWith(slow.guard());
  slow.LearnPace(*dispatcher_);
  ASSERT_EQ(Police().state, v1::DELIVERED);
  std::vector<std::string> backlog = {police_};
  for (int i = 1; i <= 30; ++i) backlog.push_back(SubmitForPolice("-" + std::to_string(i)));

  const absl::Time backlog_at = clock_.Now();
  slow.RunUntilAnswered(*dispatcher_, backlog.size());
  // Each sent once, all delivered.
  const std::vector<std::string> sent = partner->CallIds();
  EXPECT_EQ(std::set<std::string>(sent.begin(), sent.end()).size(), sent.size());
  EXPECT_EQ(sent.size(), backlog.size());
  for (const std::string& id : backlog) {
    EXPECT_EQ(store_->GetDelivery(id).value().state, v1::DELIVERED) << id;
  }
  // The queue held at most a claim's worth (four waiting, answered within
  // 20-50 s), and the backlog cost about a batch of refusals per half lease.
  EXPECT_LE(slow.longest_queue(), 4u);
  int deferrals = 0;
  for (const std::string& id : backlog) deferrals += AuditCount(id, "delivery.deferred");
  EXPECT_LE(deferrals, 60);
  // Nor did the partner wait for work: 30 calls of 10 s, back to back.
  EXPECT_LE(clock_.Now() - backlog_at, absl::Seconds(30 * 10 + 2));
}

// The same slow partner with a backlog of 30 NORMAL deliveries, partly held
// in the store, partly in the guard's queue: an URGENT referral submitted
// then is sent next, as soon as the call in flight is answered, and the
// backlog is still sent exactly once.
TEST_F(DeferredDeliveryTest, AnUrgentReferralGoesAheadOfASlowPartnersBacklog) {
  ManualScheduler scheduler(clock_);
  SlowPolicePartner slow(clock_, scheduler);
  policy_.claim_batch = 8;
  StartWith(slow.guard());
  slow.LearnPace(*dispatcher_);
  std::vector<std::string> sent_first = {police_};
  for (int i = 1; i <= 30; ++i) sent_first.push_back(SubmitForPolice("-" + std::to_string(i)));
  // The pace is known; the backlog is held, four of it queued.
  for (int second = 0; second < 45; ++second) slow.RunSecond(*dispatcher_);
  ASSERT_GT(slow.guard().Health().queued, 0u);
  ASSERT_EQ(Police().priority, v1::NORMAL);
  const size_t calls_before = slow.partner().call_count();
  const std::string urgent = SubmitForPolice("-urgent", /*immediate_danger=*/true);
  ASSERT_EQ(store_->GetDelivery(urgent).value().priority, v1::URGENT);
  for (int second = 0; second < 11; ++second) slow.RunSecond(*dispatcher_);
  const std::vector<std::string> calls = slow.partner().CallIds();
  ASSERT_EQ(calls.size(), calls_before + 1) << "the call in flight was not answered in 11 s";
  EXPECT_EQ(calls.back(), urgent);

  sent_first.push_back(urgent);
  slow.RunUntilAnswered(*dispatcher_, sent_first.size());
  const std::vector<std::string> sent = slow.partner().CallIds();
  EXPECT_EQ(std::set<std::string>(sent.begin(), sent.end()).size(), sent.size());
  EXPECT_EQ(sent.size(), sent_first.size());
  for (const std::string& id : sent_first) {
    EXPECT_EQ(store_->GetDelivery(id).value().state, v1::DELIVERED) << id;
  }
}

}  // namespace
}  // namespace hart
