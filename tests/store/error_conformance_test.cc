// The Store contract's error codes: NOT_FOUND for unknown ids, ABORTED
// for a compare-and-set that lost, and nothing written on either.
#include "tests/store/conformance_fixture.h"

namespace hart::conformance {
namespace {

class ErrorConformanceTest : public StoreConformanceTest {};
HART_STORE_CONFORMANCE_SUITE(ErrorConformanceTest);

TEST_P(ErrorConformanceTest, ReadsOfUnknownIdsAreNotFound) {
  ASSERT_OK(Create(Referral("a")));
  EXPECT_EQ(STATUS_CODE(store().GetReferral("ref_unknown")), absl::StatusCode::kNotFound);
  EXPECT_EQ(STATUS_CODE(store().GetDelivery("dlv_unknown")), absl::StatusCode::kNotFound);
  EXPECT_EQ(STATUS_CODE(store().FindReferralId("CL-unknown")), absl::StatusCode::kNotFound);
}

TEST_P(ErrorConformanceTest, AChangeOfAnUnknownReferralIsNotFound) {
  ReferralRecord unknown;
  unknown.referral_id = "ref_unknown";
  unknown.version = 1;
  EXPECT_EQ(STATUS_CODE(store().ApplyReferralChange(ChangeOf(unknown, kT0))),
            absl::StatusCode::kNotFound);
}

// Verifies a change made from a stale read loses: ABORTED, and none of it
// (facts, deliveries, timers, supplement, audit) is stored.
TEST_P(ErrorConformanceTest, AStaleReferralChangeIsAbortedAndWritesNothing) {
  NewReferral a = Referral("a");
  a.timers.push_back(RerouteTimer(ReferralId("a"), "tmr_a", kT0 + absl::Hours(72)));
  ASSERT_OK(Create(a));
  ASSERT_OK_AND_ASSIGN(auto read, store().GetReferral(ReferralId("a")));
  ReferralChange current = ChangeOf(read, kT0 + absl::Minutes(1));
  current.new_timers.push_back(RerouteTimer(ReferralId("a"), "tmr_current", kT0 + absl::Hours(72)));
  ASSERT_OK(store().ApplyReferralChange(current));
  ASSERT_OK_AND_ASSIGN(auto head, store().AuditHead());

  ReferralChange stale = ChangeOf(read, kT0 + absl::Minutes(2));  // still at read.version
  stale.intake.mutable_child()->set_town("Stamford");
  stale.resolved_town = "Stamford";
  stale.new_deliveries.push_back(Delivery(ReferralId("a"), "dlv_stale", "stamford-pd", kT0));
  stale.new_timers.push_back(RerouteTimer(ReferralId("a"), "tmr_stale", kT0 + absl::Hours(80)));
  stale.supplement_id = "sup_stale";
  stale.supplement_sha256 = std::string(32, '\x22');
  stale.supplement_response = "response";
  EXPECT_EQ(STATUS_CODE(store().ApplyReferralChange(stale)), absl::StatusCode::kAborted);

  ASSERT_OK_AND_ASSIGN(auto now, store().GetReferral(ReferralId("a")));
  EXPECT_EQ(now.version, read.version + 1);
  EXPECT_EQ(now.resolved_town, "Hartford");
  EXPECT_EQ(now.intake.child().town(), "Hartford");
  EXPECT_EQ(STATUS_CODE(store().GetDelivery("dlv_stale")), absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(auto timers, store().PendingTimers(ReferralId("a")));
  ASSERT_EQ(timers.size(), 1u);
  EXPECT_EQ(timers[0].timer_id, "tmr_current");
  EXPECT_FALSE(MUST(store().FindSupplement("sup_stale")).has_value());
  EXPECT_EQ(MUST(store().AuditHead()).size, head.size);
}

// Verifies writes naming an unknown delivery or referral fail and write
// nothing (their status code is checked by the tests after these).
TEST_P(ErrorConformanceTest, WritesNamingUnknownIdsFailAndWriteNothing) {
  ASSERT_OK(Create(Referral("a")));
  ASSERT_OK_AND_ASSIGN(auto head, store().AuditHead());
  EXPECT_FALSE(store().ApplyAck(Received("dlv_unknown", kT0)).ok());
  const FeedAppend append = FeedAppendFor(Delivery(ReferralId("a"), "dlv_unknown", "hartford-pd"));
  EXPECT_FALSE(store().AppendToFeeds({&append, 1}, kT0).ok());
  SealWrite seal = Seal("ref_unknown", kT0);
  seal.notices.push_back(Delivery(ReferralId("a"), "dlv_erasure", "hartford-pd"));
  EXPECT_FALSE(store().SealReferral(seal).ok());
  EXPECT_EQ(store().FeedHead("hartford-pd").value_or(99), 0u);
  EXPECT_EQ(STATUS_CODE(store().GetDelivery("dlv_erasure")), absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(auto after, store().AuditHead());
  EXPECT_EQ(after.size, head.size);
  EXPECT_EQ(after.root_hash, head.root_hash);
}

// Known bugs, by the id a backend lists in StoreBackendFactory::known_bugs:
// each test below skips for a backend that lists its bug.
constexpr char kAckOfUnknownDelivery[] = "ack-of-unknown-delivery-not-found";
constexpr char kFeedAppendOfUnknownDelivery[] = "feed-append-of-unknown-delivery-not-found";
constexpr char kSealOfUnknownReferral[] = "seal-of-unknown-referral-not-found";

TEST_P(ErrorConformanceTest, AnAckOfAnUnknownDeliveryIsNotFound) {
  if (KnownBug(kAckOfUnknownDelivery)) {
    GTEST_SKIP() << kAckOfUnknownDelivery
                 << ": ApplyAck answers ABORTED (a lost compare-and-set, which callers retry) "
                    "for a delivery that does not exist";
  }
  EXPECT_EQ(STATUS_CODE(store().ApplyAck(Received("dlv_unknown", kT0))),
            absl::StatusCode::kNotFound);
}

TEST_P(ErrorConformanceTest, AFeedAppendOfAnUnknownDeliveryIsNotFound) {
  if (KnownBug(kFeedAppendOfUnknownDelivery)) {
    GTEST_SKIP() << kFeedAppendOfUnknownDelivery
                 << ": AppendToFeeds answers ALREADY_EXISTS (a foreign-key failure reported as "
                    "a constraint) for a delivery that does not exist";
  }
  ASSERT_OK(Create(Referral("a")));
  const FeedAppend append = FeedAppendFor(Delivery(ReferralId("a"), "dlv_unknown", "hartford-pd"));
  EXPECT_EQ(STATUS_CODE(store().AppendToFeeds({&append, 1}, kT0)), absl::StatusCode::kNotFound);
}

TEST_P(ErrorConformanceTest, SealingAnUnknownReferralIsNotFound) {
  if (KnownBug(kSealOfUnknownReferral)) {
    GTEST_SKIP() << kSealOfUnknownReferral
                 << ": SealReferral answers FAILED_PRECONDITION (\"already sealed\") for a "
                    "referral that does not exist";
  }
  EXPECT_EQ(STATUS_CODE(store().SealReferral(Seal("ref_unknown", kT0))),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace hart::conformance
