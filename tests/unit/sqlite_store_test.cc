#include "broker/store/store_factory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <utility>

#include "absl/strings/str_join.h"
#include "broker/common/time_util.h"
#include "broker/store/sqlite/sqlite_db.h"
#include "tests/support/referral_factory.h"
#include "tests/unit/sqlite_store_fixture.h"
#include "tests/support/test_support.h"

namespace hart {
namespace {

using hart::testing::ReferralFactory;

TEST_F(SqliteStoreTest, StoresReferralDeliveriesAndAuditTogether) {
  auto receipt = factory_->Submit(ReferralFactory::Example("school-sex-trafficking-hartford", ""));
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  auto referral = store_->GetReferral(receipt->referral_id());
  ASSERT_TRUE(referral.ok());
  EXPECT_EQ(referral->careline_report_id, "CL-2026-004211");
  EXPECT_EQ(referral->intake.child().given_name(), "Jordan");
  auto deliveries = store_->GetDeliveries(receipt->referral_id());
  ASSERT_TRUE(deliveries.ok());
  ASSERT_EQ(deliveries->size(), static_cast<size_t>(receipt->destinations_size()));
  for (const auto& d : *deliveries) EXPECT_EQ(d.delivery.state, v1::PENDING);
  auto audit = store_->ListAuditEvents({});
  ASSERT_TRUE(audit.ok());
  // intake.accepted, referral.routed, one delivery.created per destination.
  EXPECT_EQ(audit->size(), 2u + deliveries->size());
}

// A delivery the intake puts on its feed is created and sent in one change:
// one audit event, delivery.sent, that also says what delivery.created would
// (issue 15: an audit leaf is four index writes). A delivery left to the
// dispatcher keeps its delivery.created.
TEST_F(SqliteStoreTest, AFeedDeliveryPlacedWithItsIntakeIsAuditedOnce) {
  ReferralFactory on_feeds(*store_, clock_, feed::FeedPlacement({"hartford-pd"}));
  auto receipt = on_feeds.Submit(ReferralFactory::Example("school-sex-trafficking-hartford", "-f"));
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  bool saw_feed = false;
  for (const auto& destination : receipt->destinations()) {
    auto events = store_->ListAuditEvents({.delivery_id = destination.delivery_id()});
    ASSERT_TRUE(events.ok()) << events.status();
    ASSERT_EQ(events->size(), 1u) << destination.agency_id();
    const AuditEvent& e = events->front();
    const std::string rules = absl::StrJoin(destination.rule_ids(), ",");
    if (destination.agency_id() == "hartford-pd") {
      saw_feed = true;
      EXPECT_EQ(e.action, "delivery.sent");
      EXPECT_EQ(e.detail, "adapter=grpc_feed agency=hartford-pd attempt=1 kind=REFERRAL rules=" +
                              rules);
    } else {
      EXPECT_EQ(e.action, "delivery.created") << destination.agency_id();
      EXPECT_EQ(e.detail, "agency=" + destination.agency_id() + " kind=REFERRAL rules=" + rules);
    }
  }
  EXPECT_TRUE(saw_feed) << "the example no longer routes to hartford-pd";
}

TEST_F(SqliteStoreTest, SameReportIdSameContentReturnsTheOriginalReceipt) {
  const auto intake = ReferralFactory::Example("urgent-hotel-bridgeport", "");
  auto first = factory_->Submit(intake);
  auto second = factory_->Submit(intake);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->SerializeAsString(), second->SerializeAsString());
  EXPECT_EQ(store_->ListAuditEvents({.limit = 1000})->size(),
            2u + static_cast<size_t>(first->destinations_size()));
}

TEST_F(SqliteStoreTest, SameReportIdDifferentContentIsAlreadyExists) {
  auto intake = ReferralFactory::Example("urgent-hotel-bridgeport", "");
  ASSERT_TRUE(factory_->Submit(intake).ok());
  intake.mutable_concern()->add_red_flags(v1::RedFlag::BRANDING_TATTOO);
  auto second = factory_->Submit(intake);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(second.status().message()), ::testing::HasSubstr("supplement"));
}

TEST_F(SqliteStoreTest, ClaimLeasesDueDeliveriesOnce) {
  auto receipt = factory_->Submit(ReferralFactory::Example("school-sex-trafficking-hartford", ""));
  ASSERT_TRUE(receipt.ok());
  const absl::Time now = clock_.Now();
  auto first = store_->ClaimDueDeliveries(now, now + absl::Seconds(60), 100, {});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->size(), static_cast<size_t>(receipt->destinations_size()));
  for (const auto& d : *first) {
    EXPECT_EQ(d.state, v1::IN_FLIGHT);
    EXPECT_EQ(d.attempts, 1u);
  }
  EXPECT_TRUE(store_->ClaimDueDeliveries(now, now + absl::Seconds(60), 100, {})->empty());
  // An expired lease that was never handed off is claimable again.
  auto again = store_->ClaimDueDeliveries(now + absl::Seconds(61), now + absl::Seconds(120), 100, {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->size(), first->size());
  EXPECT_EQ((*again)[0].attempts, 2u);
}

TEST_F(SqliteStoreTest, ReleaseClaimsMakesUnsentClaimsDueNow) {
  ASSERT_TRUE(factory_->Submit(ReferralFactory::Example("urgent-hotel-bridgeport", "")).ok());
  const absl::Time now = clock_.Now();
  ASSERT_FALSE(store_->ClaimDueDeliveries(now, now + absl::Hours(1), 100, {})->empty());
  ASSERT_TRUE(store_->ReleaseClaims(now).ok());
  EXPECT_FALSE(store_->ClaimDueDeliveries(now, now + absl::Hours(1), 100, {})->empty());
}

TEST_F(SqliteStoreTest, FeedSequencesArePerAgencyGapFreeAndAppendIsIdempotent) {
  ASSERT_TRUE(factory_->Submit(ReferralFactory::Example("school-sex-trafficking-hartford", "-a")).ok());
  ASSERT_TRUE(factory_->Submit(ReferralFactory::Example("school-sex-trafficking-hartford", "-b")).ok());
  const absl::Time now = clock_.Now();
  auto claimed = store_->ClaimDueDeliveries(now, now + absl::Minutes(1), 100, {}).value();
  std::vector<FeedAppend> appends;
  for (const auto& d : claimed) appends.push_back({d.delivery_id, d.agency_id, {now, "broker", "delivery.sent", d.referral_id, d.delivery_id, "", ""}});
  auto results = store_->AppendToFeeds(appends, now);
  ASSERT_TRUE(results.ok()) << results.status();
  std::map<std::string, std::vector<uint64_t>> by_agency;
  for (const auto& r : *results) by_agency[r.agency_id].push_back(r.sequence);
  for (const auto& [agency, seqs] : by_agency) {
    EXPECT_THAT(seqs, ::testing::ElementsAre(1, 2)) << agency;
    EXPECT_EQ(store_->FeedHead(agency).value(), 2u);
  }
  auto repeat = store_->AppendToFeeds(appends, now);
  ASSERT_TRUE(repeat.ok());
  for (size_t i = 0; i < results->size(); ++i) {
    EXPECT_EQ((*repeat)[i].sequence, (*results)[i].sequence);
  }
  EXPECT_EQ(store_->FeedHead("hartford-pd").value(), 2u);
  auto feed = store_->ReadFeed("hartford-pd", 0, 10).value();
  ASSERT_EQ(feed.size(), 2u);
  EXPECT_EQ(feed[0].delivery.transport_ref, "feed:hartford-pd#1");
  EXPECT_EQ(feed[0].intake.child().given_name(), "Jordan");
}

TEST_F(SqliteStoreTest, AckIsACompareAndSet) {
  auto receipt = factory_->Submit(ReferralFactory::Example("urgent-hotel-bridgeport", ""));
  const std::string id = receipt->destinations(0).delivery_id();
  AckWrite write;
  write.delivery_id = id;
  write.expected_state = v1::IN_FLIGHT;  // it is PENDING: must lose
  write.new_state = v1::ACKNOWLEDGED;
  write.ack.set_kind(v1::Acknowledgement::ACCEPTED);
  *write.ack.mutable_recorded_at() = ToProtoTime(clock_.Now());
  EXPECT_EQ(store_->ApplyAck(write).status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(store_->GetDelivery(id)->state, v1::PENDING);
  write.expected_state = v1::PENDING;
  ASSERT_TRUE(store_->ApplyAck(write).ok());
  auto d = store_->GetDelivery(id).value();
  EXPECT_EQ(d.state, v1::ACKNOWLEDGED);
  EXPECT_TRUE(d.acknowledged_at.has_value());
}

TEST_F(SqliteStoreTest, SurvivesReopen) {
  auto receipt = factory_->Submit(ReferralFactory::Example("labor-trafficking-waterbury", ""));
  ASSERT_TRUE(receipt.ok());
  factory_.reset();
  store_.reset();
  auto reopened = OpenSqliteStore(dir_.path());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_TRUE((*reopened)->GetReferral(receipt->referral_id()).ok());
}

TEST_F(SqliteStoreTest, SecondOpenOfTheSameDirectoryIsRefused) {
  auto second = OpenSqliteStore(dir_.path());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace hart
