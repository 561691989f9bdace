// The broker's parts that act over time (intake, dispatch, acks, timers,
// the writer queue), on one SQLite data directory and a manual clock, each
// handed the observers of one BrokerMetrics: for tests of the metrics the
// components record. Header-only: shared by the metrics tests.
#pragma once

#include <gtest/gtest.h>

#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "broker/acks/ack_recorder.h"
#include "broker/acks/escalation_ladders.h"
#include "broker/dispatch/dispatcher.h"
#include "broker/intake/intake_pipeline.h"
#include "broker/intake/referral_updater.h"
#include "broker/metrics/broker_metrics.h"
#include "broker/store/store_factory.h"
#include "broker/timers/timer_runner.h"
#include "tests/support/test_support.h"

namespace hart::testing {

// Delivers to every agency except those in `failing`, which are down.
class PartnersAdapter final : public Adapter {
 public:
  std::string_view type() const override { return "partners"; }
  void Deliver(const DeliveryRecord& d, DoneCallback done) override {
    if (failing.count(d.agency_id)) {
      done(DeliveryResult::Failed(absl::UnavailableError("partner down")));
    } else {
      done(DeliveryResult::Delivered("ok"));
    }
  }
  std::set<std::string> failing;
};

struct InstrumentedBroker {
  InstrumentedBroker(const std::string& dir, ManualClock& clock, PartnersAdapter& adapter)
      : clock(clock),
        store(std::move(OpenSqliteStore(dir).value())),
        writes(std::make_unique<WriteQueue>(*store, 16, WriteQueue::AfterCommitFn{},
                                            &metrics.events())),
        pipeline(geography, router, *writes, clock, ids, ladders, {}, &metrics.events()),
        updater(geography, router, views, ids, ladders),
        timers(*store, *writes, updater, ladders, clock, absl::Minutes(1), {}, {},
               &metrics.events()),
        acks(*store, *writes, executor, clock, ladders, &metrics.events()) {
    std::map<std::string, Adapter*> by_agency;
    for (const auto& agency : ConnecticutConfig().agencies()) by_agency[agency.id()] = &adapter;
    DispatchPolicy policy;
    policy.budget = {3, absl::Hours(2)};
    policy.backoff = {absl::Seconds(10), absl::Minutes(1)};
    dispatcher = std::make_unique<Dispatcher>(*store, by_agency, clock, random, policy, ladders,
                                              std::map<std::string, RetryBudget>{},
                                              &metrics.events());
  }

  absl::StatusOr<v1::Receipt> Submit(const v1::Intake& intake) {
    std::promise<absl::StatusOr<v1::Receipt>> promise;
    pipeline.Submit(intake, "careline/test", [&](auto r) { promise.set_value(std::move(r)); });
    return promise.get_future().get();
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
  // The delivery of `receipt` to `agency_id`.
  static std::string DeliveryTo(const v1::Receipt& receipt, const std::string& agency_id) {
    for (const auto& d : receipt.destinations()) {
      if (d.agency_id() == agency_id) return d.delivery_id();
    }
    ADD_FAILURE() << "no delivery to " << agency_id;
    return "";
  }

  ManualClock& clock;
  metrics::BrokerMetrics metrics{metrics::BrokerMetricsOptions::ForConfig(ConnecticutConfig())};
  Geography geography = [] {
    std::vector<std::string> problems;
    return Geography::Build(ConnecticutConfig(), &problems);
  }();
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
  std::unique_ptr<Dispatcher> dispatcher;
};

}  // namespace hart::testing
