// The SQLite store's writer when the storage fails under it (fsyncgate):
// through the fault VFS, a failed fsync, a short write and a full disk fail
// their group commit with a status naming the cause for clients (no SQL, no
// path); nothing of that commit is ever stored or acknowledged, not even
// after a crash once the writer recovered; every write is refused while
// the fault lasts; the writer comes back by itself when it clears.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "absl/synchronization/notification.h"
#include "broker/common/client_facing_status.h"
#include "broker/store/sqlite/sqlite_fault_vfs.h"
#include "broker/store/store_factory.h"
#include "broker/store/write_queue.h"
#include "tests/support/test_support.h"

namespace hart {
namespace {

using ::hart::testing::TempDir;
using ::hart::testing::TestNow;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kNotDurable[] = "the broker's storage failed to save data durably";
constexpr char kFull[] = "the broker's storage is full";

NewReferral MakeReferral(const std::string& id) {
  NewReferral r;
  r.referral.referral_id = "ref_" + id;
  r.referral.careline_report_id = "CL-" + id;
  r.referral.content_sha256 = std::string(32, 'x');
  r.referral.receipt.set_referral_id(r.referral.referral_id);
  r.referral.received_at = r.referral.accepted_at = TestNow();
  DeliveryRecord d;
  d.delivery_id = "dlv_" + id;
  d.referral_id = r.referral.referral_id;
  d.agency_id = "hartford-pd";
  d.agency_kind = v1::LOCAL_LAW_ENFORCEMENT;
  d.rule_ids = {"ht-referral"};
  d.adapter_type = "grpc_feed";
  d.created_at = d.next_attempt_at = d.ack_deadline = TestNow();
  r.deliveries.push_back(d);
  r.audit.push_back({TestNow(), "careline/test", "intake.accepted", r.referral.referral_id, "",
                     "", ""});
  return r;
}

class WriterFailureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    control_ = dir_.path() + "/faults";
    ASSERT_TRUE(sqlite::InstallFaultVfs(control_).ok());
    Open();
  }
  void TearDown() override { std::remove(control_.c_str()); }

  void Open() {
    auto store = OpenSqliteStore(data());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    writes_ = std::make_unique<WriteQueue>(*store_, 64);
  }
  void Close() {
    writes_.reset();
    store_.reset();
  }
  std::string data() const { return dir_.path() + "/data"; }

  void Command(const std::string& rules) {
    const std::string tmp = control_ + ".tmp";
    std::ofstream(tmp) << rules;
    ASSERT_EQ(std::rename(tmp.c_str(), control_.c_str()), 0);
  }
  void Clear() { std::remove(control_.c_str()); }

  // One intake through the writer queue, as the broker submits it.
  absl::Status Submit(const std::string& id) {
    absl::Notification done;
    absl::Status outcome = absl::UnknownError("unanswered");
    writes_->CreateReferral(MakeReferral(id), [&](absl::StatusOr<CreateReferralResult> r) {
      outcome = r.status();
      done.Notify();
    });
    if (!done.WaitForNotificationWithTimeout(absl::Seconds(30))) {
      return absl::DeadlineExceededError("no answer");
    }
    return outcome;
  }
  bool Stored(Store& store, const std::string& id) {
    return store.FindReferralId("CL-" + id).ok();
  }

  TempDir dir_;
  std::string control_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<WriteQueue> writes_;
};

// What a client may be told: the cause in plain words, nothing else.
void ExpectClientStatus(const absl::Status& status, absl::StatusCode code, const char* cause) {
  EXPECT_EQ(status.code(), code) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(cause));
  EXPECT_TRUE(IsWrittenForClient(status));
  const absl::Status client = ClientFacingStatus(status);
  EXPECT_EQ(client, status);
  for (const char* leak : {"sqlite", "hart.db", "/", "I/O", "SELECT", "INSERT"}) {
    EXPECT_THAT(std::string(client.message()), Not(HasSubstr(leak)));
  }
}

TEST_F(WriterFailureTest, AFailedFsyncIsNeverAcknowledgedAndTheWriterRecovers) {
  ASSERT_TRUE(Submit("before").ok());
  Command("sync fail count=1\n");
  ExpectClientStatus(Submit("lost"), absl::StatusCode::kUnavailable, kNotDurable);
  EXPECT_FALSE(Stored(*store_, "lost"));
  EXPECT_TRUE(Stored(*store_, "before"));  // reads go on meanwhile
  // The one failure is spent: the next write reopens and proves the writer.
  ASSERT_TRUE(Submit("after").ok());
  EXPECT_FALSE(Stored(*store_, "lost"));
  auto head = store_->AuditHead();
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->size, 2u);  // "before" and "after": one event each
  Close();
  Open();
  EXPECT_TRUE(Stored(*store_, "before"));
  EXPECT_TRUE(Stored(*store_, "after"));
  EXPECT_FALSE(Stored(*store_, "lost"));
  auto reopened = store_->AuditHead();
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(reopened->size, head->size);
  EXPECT_EQ(reopened->root_hash, head->root_hash);
}

// A copy of the data directory taken now is what a crash would leave
// (the database and its log, no shared memory): opened, SQLite recovers
// from the log. Right after the failed fsync the failed commit's frames are
// still in the log, whole (the shim, like a real failed fsync, leaves them
// in the page cache), and a crash would bring them back; once the writer
// recovered they are gone from the file.
TEST_F(WriterFailureTest, TheFailedCommitCannotComeBackAfterACrashOnceRecovered) {
  ASSERT_TRUE(Submit("before").ok());
  Command("sync fail count=1\n");
  ASSERT_EQ(Submit("lost").code(), absl::StatusCode::kUnavailable);
  auto crash_copy = [&](const std::string& name) {
    const std::string copy = dir_.path() + "/" + name;
    std::filesystem::create_directories(copy);
    for (const char* file : {"/hart.db", "/hart.db-wal"}) {
      std::filesystem::copy_file(data() + file, copy + file);
    }
    std::filesystem::copy(data() + ".keys", copy + ".keys",
                          std::filesystem::copy_options::recursive);
    return copy;
  };
  const std::string before_recovery = crash_copy("crash-before-recovery");
  ASSERT_TRUE(Submit("after").ok());  // recovers first
  const std::string after_recovery = crash_copy("crash-after-recovery");
  {
    auto crashed = OpenSqliteStore(before_recovery);
    ASSERT_TRUE(crashed.ok()) << crashed.status();
    // Why the log must be cut: the frames were whole.
    EXPECT_TRUE(Stored(**crashed, "lost"));
  }
  auto crashed = OpenSqliteStore(after_recovery);
  ASSERT_TRUE(crashed.ok()) << crashed.status();
  EXPECT_TRUE(Stored(**crashed, "before"));
  EXPECT_TRUE(Stored(**crashed, "after"));
  EXPECT_FALSE(Stored(**crashed, "lost"));
}

TEST_F(WriterFailureTest, WhileFsyncsKeepFailingEveryWriteIsRefusedThenItComesBack) {
  ASSERT_TRUE(Submit("before").ok());
  Command("sync fail\n");
  for (const char* id : {"lost-1", "lost-2", "lost-3"}) {
    ExpectClientStatus(Submit(id), absl::StatusCode::kUnavailable, kNotDurable);
  }
  // Other writes than the queue's are refused too.
  EXPECT_FALSE(store_->ReleaseClaims(TestNow()).ok());
  Clear();
  ASSERT_TRUE(Submit("after").ok());
  for (const char* id : {"lost-1", "lost-2", "lost-3"}) EXPECT_FALSE(Stored(*store_, id)) << id;
  EXPECT_TRUE(Stored(*store_, "after"));
  EXPECT_TRUE(store_->ReleaseClaims(TestNow()).ok());
}

TEST_F(WriterFailureTest, AShortOrFailedWriteFailsOnlyItsCommit) {
  Command("write short file=wal count=1\n");
  ExpectClientStatus(Submit("short"), absl::StatusCode::kUnavailable, kNotDurable);
  ASSERT_TRUE(Submit("next").ok());
  Command("write fail count=1\n");
  ExpectClientStatus(Submit("failed"), absl::StatusCode::kUnavailable, kNotDurable);
  ASSERT_TRUE(Submit("last").ok());
  EXPECT_FALSE(Stored(*store_, "short"));
  EXPECT_FALSE(Stored(*store_, "failed"));
  EXPECT_TRUE(Stored(*store_, "next"));
  EXPECT_TRUE(Stored(*store_, "last"));
}

TEST_F(WriterFailureTest, AFullDiskIsResourceExhaustedUntilRoomReturns) {
  ASSERT_TRUE(Submit("before").ok());
  Command("write full\n");
  ExpectClientStatus(Submit("full-1"), absl::StatusCode::kResourceExhausted, kFull);
  ExpectClientStatus(Submit("full-2"), absl::StatusCode::kResourceExhausted, kFull);
  Clear();
  ASSERT_TRUE(Submit("after").ok());
  EXPECT_FALSE(Stored(*store_, "full-1"));
  EXPECT_FALSE(Stored(*store_, "full-2"));
  Close();
  Open();
  EXPECT_TRUE(Stored(*store_, "before"));
  EXPECT_TRUE(Stored(*store_, "after"));
}

// The recovery itself must flush: a database whose log was already copied
// (nothing left to checkpoint) still does not come back while fsyncs fail.
TEST_F(WriterFailureTest, RecoveryIsRefusedWhileOnlyTheDatabaseFsyncFails) {
  ASSERT_TRUE(Submit("before").ok());
  Command("sync fail\n");
  ASSERT_FALSE(Submit("lost").ok());
  Command("sync fail file=db\n");  // the log's fsync works again
  ExpectClientStatus(Submit("still"), absl::StatusCode::kUnavailable, kNotDurable);
  Clear();
  ASSERT_TRUE(Submit("after").ok());
  EXPECT_FALSE(Stored(*store_, "still"));
}

}  // namespace
}  // namespace hart
