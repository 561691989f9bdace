// StoppableReads against a real server: a stop cancels the statement a
// registered connection is running, and that connection (or one that was
// registered but idle) is closed rather than pooled again; one whose read
// ended before the stop is untouched.
#include "broker/store/postgres/pg_stoppable_reads.h"

#include <future>

#include "broker/store/postgres/pg_pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/pg_fresh_database.h"
#include "tests/support/test_support.h"

namespace hart::pg {
namespace {

using ::testing::HasSubstr;

absl::Status Stopped() { return absl::CancelledError("stopped for the test"); }

class StoppableReadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto options = testing::FreshDatabaseOptions("stoppable");
    ASSERT_TRUE(options.ok()) << options.status();
    auto pool = PgPool::Open(*options, 1, absl::Seconds(5));
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = std::move(*pool);
    auto watcher = PgConn::Connect(*options);
    ASSERT_TRUE(watcher.ok()) << watcher.status();
    watcher_ = std::move(*watcher);
  }

  static int64_t BackendPid(PgConn& conn) {
    auto pid = conn.Query("SELECT pg_backend_pid()");
    EXPECT_TRUE(pid.ok()) << pid.status();
    return pid.ok() ? pid->Int(0, 0) : -1;
  }

  // The backend of the pool's next lease: another than before once the
  // connection was closed.
  int64_t NextLeasesPid() {
    auto lease = pool_->Acquire();
    EXPECT_TRUE(lease.ok()) << lease.status();
    return lease.ok() ? BackendPid(lease->conn()) : -1;
  }

  // Whether backend `pid` is inside pg_sleep now (not still parsing the
  // statement, when a cancel could come too early).
  bool Sleeping(int64_t pid) {
    auto sleeping = watcher_->Query(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = $1::int AND wait_event = 'PgSleep'",
        PgParams().Int(pid));
    return sleeping.ok() && sleeping->Int(0, 0) == 1;
  }

  std::unique_ptr<PgPool> pool_;  // one connection: the next lease shows whether it was kept
  std::unique_ptr<PgConn> watcher_;
  StoppableReads reads_{Stopped()};
};

TEST_F(StoppableReadsTest, AStopCancelsTheRunningStatementAndItsConnectionIsNotPooledAgain) {
  int64_t pid = -1;
  {
    auto lease = pool_->Acquire();
    ASSERT_TRUE(lease.ok()) << lease.status();
    pid = BackendPid(lease->conn());
    auto registration = reads_.Begin(lease->conn());
    ASSERT_TRUE(registration.ok()) << registration.status();
    // Without a cancel it would run 25 s, under the 30 s statement timeout.
    auto slept = std::async(std::launch::async,
                            [&] { return lease->conn().Query("SELECT pg_sleep(25)").status(); });
    ASSERT_TRUE(testing::WaitFor([&] { return Sleeping(pid); }));
    reads_.Stop();
    ASSERT_EQ(slept.wait_for(std::chrono::seconds(10)), std::future_status::ready)
        << "the stop did not cancel the statement";
    const absl::Status status = slept.get();
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(std::string(status.message()), HasSubstr("57014"));  // query_canceled
  }
  EXPECT_NE(NextLeasesPid(), pid);
  auto lease = pool_->Acquire();
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_EQ(reads_.Begin(lease->conn()).status(), Stopped());
  EXPECT_TRUE(reads_.stopped());
}

TEST_F(StoppableReadsTest, AReadThatEndedBeforeTheStopKeepsItsConnection) {
  int64_t pid = -1;
  {
    auto lease = pool_->Acquire();
    ASSERT_TRUE(lease.ok()) << lease.status();
    pid = BackendPid(lease->conn());
    auto registration = reads_.Begin(lease->conn());
    ASSERT_TRUE(registration.ok()) << registration.status();
    ASSERT_TRUE(lease->conn().Query("SELECT 1").ok());
  }
  EXPECT_FALSE(reads_.stopped());
  reads_.Stop();
  EXPECT_EQ(NextLeasesPid(), pid);
}

// The stop cannot tell whether the server will take its cancel to the
// statement that follows: a connection registered then is closed, even
// idle, and stays so whatever runs on it after.
TEST_F(StoppableReadsTest, AConnectionRegisteredAtTheStopIsClosedEvenIfItWasIdle) {
  int64_t pid = -1;
  {
    auto lease = pool_->Acquire();
    ASSERT_TRUE(lease.ok()) << lease.status();
    pid = BackendPid(lease->conn());
    {
      auto registration = reads_.Begin(lease->conn());
      ASSERT_TRUE(registration.ok()) << registration.status();
      reads_.Stop();
    }
    EXPECT_TRUE(lease->conn().broken());
    // A pipelined statement after it (which clears a pipeline's own mark).
    ASSERT_TRUE(lease->conn().Exec("BEGIN").ok());
    ASSERT_TRUE(lease->conn().Defer("SELECT 1", {}, /*prepare=*/false).ok());
    ASSERT_TRUE(lease->conn().Query("SELECT 2").ok());
    ASSERT_TRUE(lease->conn().Exec("COMMIT").ok());
    EXPECT_TRUE(lease->conn().broken());
  }
  EXPECT_NE(NextLeasesPid(), pid);
}

}  // namespace
}  // namespace hart::pg
