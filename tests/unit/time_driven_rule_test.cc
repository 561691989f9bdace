// Time-driven rules and supplements with the injected clock: the 72-hour
// HART consult goes out at missing_since + 72 h to the minute, with nobody
// touching the referral, across a restart; a "found" supplement cancels it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>

#include "broker/common/time_util.h"
#include "broker/intake/intake_pipeline.h"
#include "broker/intake/referral_updater.h"
#include "broker/intake/supplement_processor.h"
#include "broker/store/store_factory.h"
#include "broker/timers/timer_runner.h"
#include "tests/support/test_support.h"

namespace hart {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using hart::testing::ConnecticutConfig;
using hart::testing::FakeRandom;
using hart::testing::LoadIntake;
using hart::testing::TempDir;

Geography BuildGeography() {
  std::vector<std::string> problems;
  return Geography::Build(ConnecticutConfig(), &problems);
}

// The broker's parts that own referrals over time, on one data directory.
struct Broker {
  Broker(const std::string& dir, ManualClock& clock)
      : clock(clock),
        store(std::move(OpenSqliteStore(dir).value())),
        writes(std::make_unique<WriteQueue>(*store, 16)),
        pipeline(geography, router, *writes, clock, ids, NoLadders::Instance()),
        updater(geography, router, views, ids, NoLadders::Instance()),
        timers(*store, *writes, updater, NoLadders::Instance(), clock, absl::Minutes(1), {}),
        supplements(geography, updater, *store, *writes, clock, {}) {}

  v1::Receipt Submit(const v1::Intake& intake) {
    std::promise<absl::StatusOr<v1::Receipt>> promise;
    pipeline.Submit(intake, "careline/test", [&](auto r) { promise.set_value(std::move(r)); });
    auto result = promise.get_future().get();
    EXPECT_TRUE(result.ok()) << result.status();
    return *result;
  }
  std::vector<DeliveryRecord> Deliveries(const std::string& referral_id) {
    std::vector<DeliveryRecord> out;
    const auto items = store->GetDeliveries(referral_id).value();
    for (const auto& item : items) out.push_back(item.delivery);
    return out;
  }
  static std::vector<std::string> Agencies(const std::vector<DeliveryRecord>& deliveries,
                                           v1::MessageKind kind) {
    std::vector<std::string> ids;
    for (const auto& d : deliveries) {
      if (d.kind == kind) ids.push_back(d.agency_id);
    }
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  ManualClock& clock;
  Geography geography = BuildGeography();
  Router router{ConnecticutConfig(), geography};
  ViewBuilder views{ConnecticutConfig()};
  FakeRandom random;
  IdGenerator ids{random};
  std::unique_ptr<Store> store;
  std::unique_ptr<WriteQueue> writes;
  IntakePipeline pipeline;
  ReferralUpdater updater;
  TimerRunner timers;
  SupplementProcessor supplements;
};

class TimeDrivenRuleTest : public ::testing::Test {
 protected:
  TimeDrivenRuleTest() {
    // A child missing from DCF care, no trafficking indicator yet: the
    // Careline calls 10 hours after the child went missing.
    intake_ = LoadIntake("missing-from-foster-care-new-haven");
    intake_.mutable_concern()->clear_trafficking_type();
    intake_.mutable_concern()->clear_red_flags();
    since_ = FromProtoTime(intake_.missing().missing_since());
    *intake_.mutable_received_at() = ToProtoTime(since_ + absl::Hours(9));
    clock_.Set(since_ + absl::Hours(10));
    broker_ = std::make_unique<Broker>(dir_.path(), clock_);
  }
  v1::SupplementIntakeResponse Supplement(const std::string& referral_id,
                                          std::function<void(v1::Supplement&)> edit) {
    v1::SupplementIntakeRequest request;
    request.set_referral_id(referral_id);
    request.mutable_supplement()->set_supplement_id("S-" + std::to_string(++supplements_));
    *request.mutable_supplement()->mutable_received_at() = ToProtoTime(clock_.Now());
    edit(*request.mutable_supplement());
    auto response = broker_->supplements.Apply(request, "careline/test");
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *response : v1::SupplementIntakeResponse();
  }

  TempDir dir_;
  ManualClock clock_{absl::UnixEpoch()};
  v1::Intake intake_;
  absl::Time since_;
  std::unique_ptr<Broker> broker_;
  int supplements_ = 0;
};

TEST_F(TimeDrivenRuleTest, HartConsultGoesOutAt72HoursAcrossARestart) {
  const v1::Receipt receipt = broker_->Submit(intake_);
  EXPECT_THAT(Broker::Agencies(broker_->Deliveries(receipt.referral_id()), v1::REFERRAL),
              ElementsAre("ncmec", "new-haven-pd"));
  auto timers = broker_->store->PendingTimers(receipt.referral_id()).value();
  ASSERT_EQ(timers.size(), 1u);
  EXPECT_EQ(timers[0].due_at, since_ + absl::Hours(72));
  EXPECT_THAT(timers[0].rule_ids, ElementsAre("missing-72h"));

  clock_.Set(since_ + absl::Hours(72) - absl::Minutes(1));
  EXPECT_EQ(broker_->timers.RunOnce().value(), 0u);
  EXPECT_EQ(broker_->Deliveries(receipt.referral_id()).size(), 2u);

  // A restart in between changes nothing.
  broker_.reset();
  broker_ = std::make_unique<Broker>(dir_.path(), clock_);
  ASSERT_TRUE(broker_->store->ReleaseClaims(clock_.Now()).ok());
  EXPECT_EQ(broker_->timers.RunOnce().value(), 0u);

  clock_.Set(since_ + absl::Hours(72));
  EXPECT_EQ(broker_->timers.RunOnce().value(), 1u);
  const auto deliveries = broker_->Deliveries(receipt.referral_id());
  ASSERT_EQ(deliveries.size(), 3u);
  const DeliveryRecord& consult = deliveries.back();
  EXPECT_EQ(consult.agency_id, "hart-lead-region-2");
  EXPECT_EQ(consult.kind, v1::REFERRAL);
  EXPECT_THAT(consult.rule_ids, ElementsAre("missing-72h"));
  EXPECT_EQ(consult.created_at, since_ + absl::Hours(72));
  EXPECT_EQ(consult.ack_deadline, since_ + absl::Hours(72 + 24));
  EXPECT_THAT(broker_->store->PendingTimers(receipt.referral_id()).value(), IsEmpty());
  // Fires once.
  clock_.Advance(absl::Hours(1));
  EXPECT_EQ(broker_->timers.RunOnce().value(), 0u);
  EXPECT_EQ(broker_->Deliveries(receipt.referral_id()).size(), 3u);
}

TEST_F(TimeDrivenRuleTest, FoundSupplementCancelsTheTimerAndTellsNcmecAndPolice) {
  const v1::Receipt receipt = broker_->Submit(intake_);
  clock_.Set(since_ + absl::Hours(30));
  const auto response =
      Supplement(receipt.referral_id(), [](v1::Supplement& s) { s.set_child_found(true); });
  EXPECT_THAT(response.changed_fields(), ElementsAre("missing.is_missing"));
  EXPECT_THAT(response.new_agency_ids(), IsEmpty());
  EXPECT_THAT(broker_->store->PendingTimers(receipt.referral_id()).value(), IsEmpty());
  const auto deliveries = broker_->Deliveries(receipt.referral_id());
  EXPECT_THAT(Broker::Agencies(deliveries, v1::UPDATE), ElementsAre("ncmec", "new-haven-pd"));
  for (const auto& d : deliveries) {
    if (d.kind == v1::UPDATE) {
      EXPECT_THAT(d.changes, Contains("missing.is_missing"));
    }
  }
  clock_.Set(since_ + absl::Hours(80));
  EXPECT_EQ(broker_->timers.RunOnce().value(), 0u);
  EXPECT_EQ(broker_->Deliveries(receipt.referral_id()).size(), 4u);
}

TEST_F(TimeDrivenRuleTest, SupplementAddingATraffickingTypeReachesTheHtDestinations) {
  const v1::Receipt receipt = broker_->Submit(intake_);
  const auto response = Supplement(receipt.referral_id(), [](v1::Supplement& s) {
    s.set_trafficking_type(v1::TraffickingType::SEX);
  });
  std::vector<std::string> added(response.new_agency_ids().begin(),
                                 response.new_agency_ids().end());
  std::sort(added.begin(), added.end());
  EXPECT_THAT(added, ElementsAre("cac-south-central", "csao", "ct-ht-task-force",
                                 "hart-lead-region-2", "mdt-new-haven"));
  // Police and NCMEC already had it: both views include the trafficking
  // type; for police a new rule applies as well.
  EXPECT_THAT(response.updated_agency_ids(),
              ::testing::UnorderedElementsAre("new-haven-pd", "ncmec"));
  EXPECT_EQ(response.receipt().destinations_size(), 7);
  const auto deliveries = broker_->Deliveries(receipt.referral_id());
  for (const auto& d : deliveries) {
    if (d.kind != v1::UPDATE) continue;
    if (d.agency_id == "new-haven-pd") {
      EXPECT_THAT(d.changes, ElementsAre("concern.trafficking_type", "rule:ht-referral"));
    } else {
      EXPECT_THAT(d.changes, ElementsAre("concern.trafficking_type"));
    }
  }
  // The 72-hour timer is still pending (the child is still missing).
  EXPECT_EQ(broker_->store->PendingTimers(receipt.referral_id()).value().size(), 1u);
}

TEST_F(TimeDrivenRuleTest, SupplementsAreIdempotentOnTheirId) {
  const v1::Receipt receipt = broker_->Submit(intake_);
  v1::SupplementIntakeRequest request;
  request.set_careline_report_id(intake_.careline_report_id());
  request.mutable_supplement()->set_supplement_id("S-once");
  *request.mutable_supplement()->mutable_received_at() = ToProtoTime(clock_.Now());
  request.mutable_supplement()->add_add_red_flags(v1::RedFlag::BRANDING_TATTOO);
  auto first = broker_->supplements.Apply(request, "careline/test");
  auto again = broker_->supplements.Apply(request, "careline/test");
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(first->SerializeAsString(), again->SerializeAsString());
  EXPECT_EQ(broker_->store->ListSupplements(receipt.referral_id()).value(),
            std::vector<std::string>{"S-once"});
  request.mutable_supplement()->set_town("Hartford");
  EXPECT_EQ(broker_->supplements.Apply(request, "careline/test").status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(TimeDrivenRuleTest, BadSupplementsChangeNothing) {
  const v1::Receipt receipt = broker_->Submit(intake_);
  v1::SupplementIntakeRequest request;
  request.set_referral_id(receipt.referral_id());
  request.mutable_supplement()->set_town("Gotham");
  auto result = broker_->supplements.Apply(request, "careline/test");
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  request.set_referral_id("ref_UNKNOWN");
  request.mutable_supplement()->set_supplement_id("S-x");
  *request.mutable_supplement()->mutable_received_at() = ToProtoTime(clock_.Now());
  request.mutable_supplement()->clear_town();
  EXPECT_EQ(broker_->supplements.Apply(request, "careline/test").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(broker_->store->GetReferral(receipt.referral_id())->version, 1);
}

}  // namespace
}  // namespace hart
