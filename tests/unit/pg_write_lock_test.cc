// The first round trip of a PostgreSQL write transaction (pg_write_lock.h)
// against a real server: the reads come back with the lock, and a writer
// that waited for the lock reads what the previous holder committed, which
// is what keeps feed sequences gap-free across replicas.
#include "broker/store/postgres/pg_write_lock.h"

#include <thread>

#include "absl/synchronization/notification.h"
#include "broker/store/postgres/pg_schema.h"
#include "gtest/gtest.h"
#include "tests/support/pg_fresh_database.h"

namespace hart::pg {
namespace {

class PgWriteLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto options = testing::FreshDatabaseOptions("write_lock");
    ASSERT_TRUE(options.ok()) << options.status();
    options_ = *options;
    first_ = Connect();
    ASSERT_NE(first_, nullptr);
    ASSERT_TRUE(ApplySchema(*first_).ok());
    ASSERT_TRUE(first_->Exec("INSERT INTO feed_heads VALUES ('task-force', 7), ('csao', 3)").ok());
  }

  std::unique_ptr<PgConn> Connect() {
    auto conn = PgConn::Connect(options_);
    EXPECT_TRUE(conn.ok()) << conn.status();
    return conn.ok() ? std::move(*conn) : nullptr;
  }

  // Whether some session waits for a row lock: a bounded poll, since the
  // other session's wait cannot be observed any other way. From a session
  // of its own, outside any transaction: pg_stat_activity is read once per
  // transaction.
  bool SomeoneWaitsForALock() {
    std::unique_ptr<PgConn> observer = Connect();
    if (observer == nullptr) return false;
    for (int i = 0; i < 500; ++i) {
      auto waiting = observer->Query(
          "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
          "AND datname = current_database()");
      if (waiting.ok() && waiting->Int(0, 0) > 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  PgConnectOptions options_;
  std::unique_ptr<PgConn> first_;
};

TEST_F(PgWriteLockTest, TheLockRoundTripReadsTheTreeTheHeadsAndTheReports) {
  ASSERT_TRUE(first_->Exec(
      "INSERT INTO referrals (referral_id, careline_report_id, content_sha256, intake, "
      "receipt, priority, resolved_town, received_at, accepted_at) "
      "VALUES ('r1', 'CL-1', '\\x01', '\\x', '\\x0a', 1, 'Hartford', 0, 0)").ok());
  WriteReads reads;
  reads.feed_agencies = {"task-force", "mdt-new"};
  reads.report_ids = {"CL-1", "CL-2"};
  auto locked = BeginLockedWrite(*first_, reads);
  ASSERT_TRUE(locked.ok()) << locked.status();
  EXPECT_EQ(locked->tree.size(), 0u);
  // Every agency asked for, none other; one without a head starts at 0.
  EXPECT_EQ(locked->feed_heads,
            (std::map<std::string, int64_t>{{"task-force", 7}, {"mdt-new", 0}}));
  ASSERT_TRUE(locked->reports.has_value());
  ASSERT_EQ(locked->reports->size(), 1u);
  EXPECT_EQ(locked->reports->at("CL-1").content_sha256, std::string("\x01", 1));
  EXPECT_EQ(locked->reports->at("CL-1").receipt, "\n");
  EXPECT_TRUE(first_->in_transaction());
  ASSERT_TRUE(first_->Exec("ROLLBACK").ok());
}

TEST_F(PgWriteLockTest, NothingAskedForReadsNothingButTheTree) {
  auto locked = BeginLockedWrite(*first_, WriteReads{});
  ASSERT_TRUE(locked.ok()) << locked.status();
  EXPECT_TRUE(locked->feed_heads.empty());
  EXPECT_FALSE(locked->reports.has_value());
  ASSERT_TRUE(first_->Exec("ROLLBACK").ok());
}

TEST_F(PgWriteLockTest, AWriterThatWaitedForTheLockReadsWhatTheHolderCommitted) {
  WriteReads reads;
  reads.feed_agencies = {"task-force"};
  auto holder = BeginLockedWrite(*first_, reads);
  ASSERT_TRUE(holder.ok()) << holder.status();
  ASSERT_EQ(holder->feed_heads.at("task-force"), 7);

  std::unique_ptr<PgConn> second = Connect();
  ASSERT_NE(second, nullptr);
  absl::StatusOr<LockedWrite> waiter = absl::UnknownError("not run");
  absl::Notification done;
  std::thread other([&] {
    waiter = BeginLockedWrite(*second, reads);
    done.Notify();
  });
  const bool waits = SomeoneWaitsForALock();
  EXPECT_FALSE(done.HasBeenNotified());
  // The holder moves the head on and commits.
  ASSERT_TRUE(first_->Exec(
      "UPDATE feed_heads SET last_sequence = 9 WHERE agency_id = 'task-force'; "
      "UPDATE audit_tree SET size = 0 WHERE id = 1; COMMIT").ok());
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  other.join();
  EXPECT_TRUE(waits);
  ASSERT_TRUE(waiter.ok()) << waiter.status();
  // Read after the lock, in the same round trip: 9, not the 7 it held
  // before the holder's commit.
  EXPECT_EQ(waiter->feed_heads.at("task-force"), 9);
  ASSERT_TRUE(second->Exec("ROLLBACK").ok());
}

}  // namespace
}  // namespace hart::pg
