// The audit verifier trusts nothing but the public key: any change to the
// stored events or checkpoints is found, and the first bad index named.
#include "broker/audit/log_verifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "broker/api/audit_service.h"
#include "broker/audit/audit_entry.h"
#include "broker/audit/audit_log.h"
#include "broker/audit/merkle_tree.h"
#include "broker/common/time_util.h"
#include "broker/store/store_factory.h"
#include "tests/support/test_support.h"

namespace hart::audit {
namespace {

using ::testing::HasSubstr;
using hart::testing::TempDir;
using hart::testing::TestNow;

class LogVerifierTest : public ::testing::Test {
 protected:
  LogVerifierTest() : clock_(TestNow()) {
    store_ = std::move(OpenSqliteStore(dir_.path() + "/data").value());
    signer_ = std::move(CheckpointSigner::LoadOrCreate(dir_.path() + "/key.pem").value());
    log_ = std::make_unique<AuditLog>(*store_, *signer_, clock_);
    // 20 events with a checkpoint after 7, 15 and 20.
    for (int i = 0; i < 20; ++i) {
      AuditEvent e{clock_.Now(), "careline/test", "intake.accepted",
                   "ref_" + std::to_string(i), "", std::string(32, 'h'), "n=" + std::to_string(i)};
      EXPECT_TRUE(store_->AppendAudit({&e, 1}).ok());
      clock_.Advance(absl::Seconds(1));
      if (i == 6 || i == 14 || i == 19) {
        EXPECT_TRUE(log_->Checkpoint().ok());
      }
    }
  }
  LogToVerify Snapshot() {
    LogToVerify log;
    const auto events = store_->ListAuditEvents({.limit = 1000}).value();
    for (const auto& e : events) log.events.push_back(ToApiEvent(e));
    log.checkpoints = store_->ListCheckpoints().value();
    log.recorded_tree_size = store_->AuditHead()->size;
    log.public_key_pem = signer_->public_key_pem();
    return log;
  }

  TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<CheckpointSigner> signer_;
  std::unique_ptr<AuditLog> log_;
};

TEST_F(LogVerifierTest, AnUntouchedLogVerifies) {
  const auto report = VerifyLog(Snapshot());
  EXPECT_TRUE(report.ok) << (report.problems.empty() ? "" : report.problems[0]);
  EXPECT_EQ(report.entries_checked, 20u);
  EXPECT_EQ(report.checkpoints_checked, 3u);
}

TEST_F(LogVerifierTest, AnAlteredEntryIsNamed) {
  auto log = Snapshot();
  log.events[9].mutable_entry()->set_detail("n=999");
  const auto report = VerifyLog(log);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_index, 9u);
}

TEST_F(LogVerifierTest, AnAlteredEntryWithARecomputedLeafHashFailsItsCheckpoint) {
  auto log = Snapshot();
  log.events[9].mutable_entry()->set_detail("n=999");
  log.events[9].set_leaf_hash(EntryLeafHash(log.events[9].entry()));
  const auto report = VerifyLog(log);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_index, 7u);  // the interval [7, 15) is named
  EXPECT_THAT(report.problems[0], HasSubstr("[7, 15)"));
}

TEST_F(LogVerifierTest, ADeletedEntryIsNamed) {
  auto log = Snapshot();
  log.events.erase(log.events.begin() + 4);
  const auto report = VerifyLog(log);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_index, 4u);
}

TEST_F(LogVerifierTest, SwappedEntriesAreNamed) {
  auto log = Snapshot();
  std::swap(log.events[11], log.events[12]);
  const auto report = VerifyLog(log);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_index, 11u);
}

TEST_F(LogVerifierTest, AnEntryAppendedOutsideTheBrokerIsNamed) {
  auto log = Snapshot();
  auto extra = log.events.back();
  extra.mutable_entry()->set_index(20);
  extra.set_leaf_hash(EntryLeafHash(extra.entry()));
  log.events.push_back(extra);
  const auto report = VerifyLog(log);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_index, 20u);
}

TEST_F(LogVerifierTest, ASignatureByAnotherKeyIsRejected) {
  auto other = CheckpointSigner::LoadOrCreate(dir_.path() + "/other.pem").value();
  auto log = Snapshot();
  log.public_key_pem = other->public_key_pem();
  const auto report = VerifyLog(log);
  EXPECT_FALSE(report.ok);
  EXPECT_THAT(report.problems[0], HasSubstr("signature does not verify"));
  // And a checkpoint re-signed by another key fails with the right key.
  auto forged = other->Sign(7, log.checkpoints[0].root_hash(), TestNow()).value();
  log = Snapshot();
  log.checkpoints[0] = forged;
  EXPECT_FALSE(VerifyLog(log).ok);
}

TEST_F(LogVerifierTest, ACheckpointWhoseTimeGoesBackwardsIsRejected) {
  auto log = Snapshot();
  // Validly signed, but timestamped before the checkpoint it follows.
  log.checkpoints[2] = signer_->Sign(20, log.checkpoints[2].root_hash(),
                                     FromProtoTime(log.checkpoints[1].timestamp()) -
                                         absl::Seconds(1))
                           .value();
  const auto report = VerifyLog(log);
  EXPECT_FALSE(report.ok);
  EXPECT_THAT(report.problems[0], HasSubstr("time went backwards"));
}

TEST_F(LogVerifierTest, CheckpointTimesNeverGoBackwardsEvenIfTheClockDoes) {
  AuditEvent e{clock_.Now(), "broker", "config.loaded", "", "", "", ""};
  ASSERT_TRUE(store_->AppendAudit({&e, 1}).ok());
  const absl::Time last = FromProtoTime(store_->ListCheckpoints()->back().timestamp());
  clock_.Set(last - absl::Hours(1));
  auto made = log_->Checkpoint();
  ASSERT_TRUE(made.ok());
  EXPECT_EQ(FromProtoTime(made->timestamp()), last);
  EXPECT_TRUE(VerifyLog(Snapshot()).ok);
}

// Two brokers sharing a store (PostgreSQL replicas) sign in turn: one that
// signed long ago and is asked again (CreateCheckpoint, or after taking
// the leader lease) must not go by its own memory of the latest checkpoint
// when the clock has stepped back meanwhile.
TEST_F(LogVerifierTest, ABrokerThatSignedEarlierNeverSignsBeforeAnotherBrokersCheckpoint) {
  AuditLog other(*store_, *signer_, clock_);
  AuditEvent e{clock_.Now(), "broker", "config.loaded", "", "", "", ""};
  ASSERT_TRUE(store_->AppendAudit({&e, 1}).ok());
  ASSERT_TRUE(other.Checkpoint().ok());  // `other` remembers this one
  clock_.Set(clock_.Now() + absl::Hours(1));
  ASSERT_TRUE(store_->AppendAudit({&e, 1}).ok());
  const auto latest = log_->Checkpoint();  // the first broker signs later
  ASSERT_TRUE(latest.ok());
  clock_.Set(clock_.Now() - absl::Minutes(10));  // the wall clock steps back
  ASSERT_TRUE(store_->AppendAudit({&e, 1}).ok());
  const auto made = other.Checkpoint();
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_GE(FromProtoTime(made->timestamp()), FromProtoTime(latest->timestamp()));
  EXPECT_TRUE(VerifyLog(Snapshot()).ok);
}

TEST_F(LogVerifierTest, InclusionProofsFromTheStoreVerifyAgainstTheCheckpoints) {
  const auto checkpoints = store_->ListCheckpoints().value();
  for (const auto& c : checkpoints) {
    for (uint64_t i = 0; i < c.tree_size(); ++i) {
      auto path = log_->ProveInclusion(i, c.tree_size());
      ASSERT_TRUE(path.ok()) << path.status();
      EXPECT_TRUE(VerifyInclusion(store_->AuditLeafHash(i).value(), i, c.tree_size(), *path,
                                  c.root_hash()));
    }
  }
  EXPECT_EQ(log_->ProveInclusion(0, 21).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(LogVerifierEmptyTest, ACheckpointOfTheEmptyTreeVerifies) {
  TempDir dir;
  ManualClock clock(TestNow());
  auto store = std::move(OpenSqliteStore(dir.path() + "/data").value());
  auto signer = std::move(CheckpointSigner::LoadOrCreate(dir.path() + "/key.pem").value());
  AuditLog log(*store, *signer, clock);
  ASSERT_TRUE(log.Checkpoint().ok());
  AuditEvent e{clock.Now(), "broker", "config.loaded", "", "", "", ""};
  ASSERT_TRUE(store->AppendAudit({&e, 1}).ok());
  ASSERT_TRUE(log.Checkpoint().ok());
  LogToVerify input;
  const auto events = store->ListAuditEvents({}).value();
  for (const auto& event : events) input.events.push_back(ToApiEvent(event));
  input.checkpoints = store->ListCheckpoints().value();
  input.public_key_pem = signer->public_key_pem();
  const auto report = VerifyLog(input);
  EXPECT_TRUE(report.ok) << (report.problems.empty() ? "" : report.problems[0]);
  EXPECT_EQ(report.checkpoints_checked, 2u);
}

TEST_F(LogVerifierTest, TheTreeSurvivesAReopen) {
  const auto head = store_->AuditHead().value();
  store_.reset();
  log_.reset();
  store_ = std::move(OpenSqliteStore(dir_.path() + "/data").value());
  EXPECT_EQ(store_->AuditHead()->root_hash, head.root_hash);
  log_ = std::make_unique<AuditLog>(*store_, *signer_, clock_);
  AuditEvent e{clock_.Now(), "broker", "config.loaded", "", "", "", ""};
  ASSERT_TRUE(store_->AppendAudit({&e, 1}).ok());
  ASSERT_TRUE(log_->Checkpoint().ok());
  EXPECT_TRUE(VerifyLog(Snapshot()).ok);
}

}  // namespace
}  // namespace hart::audit
