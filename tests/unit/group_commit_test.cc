#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "absl/synchronization/notification.h"
#include "broker/store/group_committer.h"
#include "broker/store/store_factory.h"
#include "broker/store/store_wrapper.h"
#include "tests/support/test_support.h"

namespace hart {
namespace {

using hart::testing::TempDir;
using hart::testing::TestNow;
using hart::testing::WaitFor;

NewReferral MakeReferral(const std::string& id, const std::string& delivery_id) {
  NewReferral r;
  r.referral.referral_id = "ref_" + id;
  r.referral.careline_report_id = "CL-" + id;
  r.referral.content_sha256 = std::string(32, 'x');
  r.referral.receipt.set_referral_id(r.referral.referral_id);
  r.referral.received_at = TestNow();
  r.referral.accepted_at = TestNow();
  DeliveryRecord d;
  d.delivery_id = delivery_id;
  d.referral_id = r.referral.referral_id;
  d.agency_id = "hartford-pd";
  d.agency_kind = v1::LOCAL_LAW_ENFORCEMENT;
  d.rule_ids = {"ht-referral"};
  d.adapter_type = "grpc_feed";
  d.created_at = d.next_attempt_at = d.ack_deadline = TestNow();
  r.deliveries.push_back(d);
  r.audit.push_back({TestNow(), "careline/test", "intake.accepted", r.referral.referral_id, "", "", ""});
  return r;
}

// Holds the first CreateReferrals call until released.
class BlockingStore final : public StoreWrapper {
 public:
  using StoreWrapper::StoreWrapper;
  absl::StatusOr<std::vector<CreateReferralResult>> CreateReferrals(
      std::span<const NewReferral> batch) override {
    if (!first_done_.exchange(true)) {
      entered.Notify();
      release.WaitForNotification();
    }
    batch_sizes.push_back(batch.size());
    return StoreWrapper::CreateReferrals(batch);
  }
  absl::Notification entered;
  absl::Notification release;
  std::vector<size_t> batch_sizes;  // written by the writer thread only

 private:
  std::atomic<bool> first_done_{false};
};

class GroupCommitTest : public ::testing::Test {
 protected:
  GroupCommitTest()
      : sqlite_(std::move(OpenSqliteStore(dir_.path()).value())), store_(*sqlite_) {}
  TempDir dir_;
  std::unique_ptr<Store> sqlite_;
  BlockingStore store_;
};

// Verifies the answer comes only after the transaction returned.
TEST_F(GroupCommitTest, AnswersOnlyAfterTheCommit) {
  auto committer = MakeGroupCommitter(store_, 16, {});
  std::atomic<bool> answered{false};
  committer->Submit(MakeReferral("1", "dlv_1"), [&](absl::StatusOr<CreateReferralResult> r) {
    EXPECT_TRUE(r.ok());
    // By the time we are answered, the referral is readable.
    EXPECT_TRUE(sqlite_->GetReferral("ref_1").ok());
    answered = true;
  });
  store_.entered.WaitForNotification();
  EXPECT_FALSE(answered.load());
  EXPECT_EQ(sqlite_->GetReferral("ref_1").status().code(), absl::StatusCode::kNotFound);
  store_.release.Notify();
  EXPECT_TRUE(WaitFor([&] { return answered.load(); }));
}

// Verifies concurrent submissions share one transaction, and a failing
// transaction answers every member with the error and stores nothing.
TEST_F(GroupCommitTest, FailedBatchAnswersEveryMemberAndStoresNothing) {
  auto committer = MakeGroupCommitter(store_, 16, {});
  std::atomic<int> ok{0}, failed{0};
  auto count = [&](absl::StatusOr<CreateReferralResult> r) { (r.ok() ? ok : failed)++; };
  committer->Submit(MakeReferral("blocker", "dlv_blocker"), count);
  store_.entered.WaitForNotification();
  // Queued while the writer is busy: these two form the next batch. The
  // second reuses the first's delivery id, so the transaction fails midway.
  committer->Submit(MakeReferral("2", "dlv_same"), count);
  committer->Submit(MakeReferral("3", "dlv_same"), count);
  store_.release.Notify();
  ASSERT_TRUE(WaitFor([&] { return ok + failed == 3; }));
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(failed.load(), 2);
  EXPECT_THAT(store_.batch_sizes, ::testing::ElementsAre(1, 2));
  EXPECT_EQ(sqlite_->GetReferral("ref_2").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(sqlite_->GetReferral("ref_3").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(sqlite_->GetDelivery("dlv_same").status().code(), absl::StatusCode::kNotFound);
  // Only the blocker's audit event exists.
  EXPECT_EQ(sqlite_->ListAuditEvents({})->size(), 1u);
}

TEST_F(GroupCommitTest, RunsAfterCommitHookOnSuccess) {
  std::atomic<int> hooks{0};
  store_.release.Notify();
  auto committer = MakeGroupCommitter(store_, 16, [&](auto) { hooks++; });
  std::atomic<bool> done{false};
  committer->Submit(MakeReferral("1", "dlv_1"), [&](auto) { done = true; });
  ASSERT_TRUE(WaitFor([&] { return done.load(); }));
  EXPECT_EQ(hooks.load(), 1);
}

}  // namespace
}  // namespace hart
