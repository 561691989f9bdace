// InterruptOnceStopped: a statement already running ends soon after the
// flag is set from another thread, and once the guard is gone the
// connection's statements run to their end again.
#include "broker/store/sqlite/sqlite_interrupt.h"

#include <sqlite3.h>

#include <atomic>
#include <future>

#include "absl/cleanup/cleanup.h"
#include "broker/store/sqlite/sqlite_db.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace hart::sqlite {
namespace {

// Counts to two billion: minutes, unless something ends it. started()
// tells the test the statement is running.
constexpr char kLongCount[] =
    "WITH RECURSIVE c(x) AS (SELECT started() UNION ALL SELECT x + 1 FROM c "
    "WHERE x < 2000000000) SELECT COUNT(*) FROM c";

class InterruptOnceStoppedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = SqliteDb::Open(dir_.path() + "/interrupt.db", /*read_only=*/false);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    ASSERT_EQ(sqlite3_create_function(
                  db_->raw(), "started", 0, SQLITE_UTF8, &started_,
                  [](sqlite3_context* context, int, sqlite3_value**) {
                    static_cast<std::atomic<bool>*>(sqlite3_user_data(context))->store(true);
                    sqlite3_result_int(context, 0);
                  },
                  nullptr, nullptr),
              SQLITE_OK);
  }

  // The count's result: its value, or the status it ended with.
  absl::StatusOr<int64_t> Count(const char* sql) {
    auto statement = db_->Prepare(sql);
    if (!statement.ok()) return statement.status();
    auto row = (*statement)->Step();
    if (!row.ok()) return row.status();
    return (*statement)->Int(0);
  }

  hart::testing::TempDir dir_;
  std::unique_ptr<SqliteDb> db_;
  std::atomic<bool> started_{false};
  std::atomic<bool> stopped_{false};
};

TEST_F(InterruptOnceStoppedTest, AStatementRunningWhenTheFlagIsSetEndsInterrupted) {
  std::future<absl::StatusOr<int64_t>> counted;
  // However the test ends, the count does not run on for minutes.
  absl::Cleanup end_count = [&] {
    if (counted.valid() && counted.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      sqlite3_interrupt(db_->raw());
    }
  };
  counted = std::async(std::launch::async, [&] {
    InterruptOnceStopped guard(db_->raw(), stopped_);
    return Count(kLongCount);
  });
  ASSERT_TRUE(hart::testing::WaitFor([&] { return started_.load(); }));
  stopped_.store(true);
  ASSERT_EQ(counted.wait_for(std::chrono::seconds(10)), std::future_status::ready)
      << "the statement ran on after the flag was set";
  const absl::StatusOr<int64_t> count = counted.get();
  ASSERT_FALSE(count.ok());
  EXPECT_EQ(SqliteCodeOf(count.status()), SQLITE_INTERRUPT) << count.status();
}

TEST_F(InterruptOnceStoppedTest, WithoutTheGuardTheConnectionIsNotInterruptedWhateverTheFlag) {
  stopped_.store(true);
  {
    InterruptOnceStopped guard(db_->raw(), stopped_, /*check_steps=*/100);
    EXPECT_EQ(SqliteCodeOf(Count("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
                                 "FROM c WHERE x < 100000) SELECT COUNT(*) FROM c")
                               .status()),
              SQLITE_INTERRUPT);
  }
  const absl::StatusOr<int64_t> count =
      Count("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
            "WHERE x < 100000) SELECT COUNT(*) FROM c");
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, 100000);
}

}  // namespace
}  // namespace hart::sqlite
