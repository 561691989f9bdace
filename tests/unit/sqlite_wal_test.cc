// The SQLite store's write-ahead log stays bounded (issue 15, point 8;
// WalPolicy in broker/store/sqlite/sqlite_connections.h, the README's
// storage section): a clean close leaves no log, an open truncates a log a
// crash left behind, and under writes far larger than the bound, with a
// reader holding an old snapshot now and then, the -wal file is back under
// the bound once the reader lets go. The writer wakes the background
// checkpointer as the log grows, so that it copies beside the writer.
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "broker/store/sqlite/sqlite_connections.h"
#include "tests/support/test_support.h"

namespace hart::sqlite {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;

// The default policy with every size divided by `divisor`, so that a test
// writes many times its bound in a few seconds, in the same proportions.
WalPolicy ScaledDown(int64_t divisor) {
  WalPolicy policy;
  for (int64_t* bytes :
       {&policy.checkpoint_at_bytes, &policy.restart_remainder_bytes,
        &policy.restart_patience_bytes, &policy.checkpoint_retry_bytes,
        &policy.size_limit_bytes, &policy.background_wake_bytes}) {
    *bytes /= divisor;
  }
  return policy;
}

class SqliteWalTest : public ::testing::Test {
 protected:
  std::string WalPath() const { return dir_.path() + "/hart.db-wal"; }

  // Missing counts as empty: SQLite removes the file when the last
  // connection closes cleanly.
  int64_t WalBytes() const {
    std::error_code ec;
    const auto size = std::filesystem::file_size(WalPath(), ec);
    return ec ? 0 : static_cast<int64_t>(size);
  }

  static void CreateLoadTable(SqliteConnections& db) {
    absl::MutexLock lock(&db.write_mu());
    ASSERT_TRUE(db.writer().Exec("CREATE TABLE wal_load (payload BLOB NOT NULL)").ok());
  }

  // One committed transaction of `bytes` of new pages.
  static void Write(SqliteConnections& db, int64_t bytes) {
    absl::MutexLock lock(&db.write_mu());
    const absl::Status written = db.writer().Exec(absl::StrCat(
        "BEGIN IMMEDIATE; INSERT INTO wal_load (payload) VALUES (randomblob(", bytes,
        ")); COMMIT"));
    ASSERT_TRUE(written.ok()) << written;
  }

  static int64_t Rows(SqliteConnections& db) {
    auto reader = db.AcquireReader();
    EXPECT_TRUE(reader.ok()) << reader.status();
    if (!reader.ok()) return -1;
    auto count = reader->db().Prepare("SELECT COUNT(*) FROM wal_load");
    EXPECT_TRUE(count.ok()) << count.status();
    if (!count.ok()) return -1;
    auto row = (*count)->Step();
    EXPECT_TRUE(row.ok() && *row);
    return (*count)->Int(0);
  }

  testing::TempDir dir_;
};

TEST_F(SqliteWalTest, CleanCloseLeavesNoLog) {
  {
    auto db = SqliteConnections::Open(dir_.path());
    ASSERT_TRUE(db.ok()) << db.status();
    CreateLoadTable(**db);
    for (int i = 0; i < 16; ++i) Write(**db, 256 * 1024);
    // An idle read-only connection in the pool, as a serving broker has:
    // closed after the writer, it could not checkpoint.
    EXPECT_EQ(Rows(**db), 16);
    EXPECT_GT(WalBytes(), 0);
  }
  EXPECT_EQ(WalBytes(), 0);
  auto reopened = SqliteConnections::Open(dir_.path());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(Rows(**reopened), 16);
}

TEST_F(SqliteWalTest, OpenTruncatesTheLogACrashLeft) {
  {
    auto db = SqliteConnections::Open(dir_.path());
    ASSERT_TRUE(db.ok()) << db.status();
    CreateLoadTable(**db);
  }
  // A child process commits and dies without closing anything.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto db = SqliteConnections::Open(dir_.path());
    if (!db.ok()) _exit(2);
    for (int i = 0; i < 16; ++i) {
      absl::MutexLock lock(&(*db)->write_mu());
      if (!(*db)->writer().Exec("INSERT INTO wal_load (payload) VALUES (randomblob(262144))").ok()) {
        _exit(3);
      }
    }
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  ASSERT_GT(WalBytes(), kMiB) << "the crash left its commits in the log";
  auto db = SqliteConnections::Open(dir_.path());
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(WalBytes(), 0);
  EXPECT_EQ(Rows(**db), 16);
}

TEST_F(SqliteWalTest, TheWriterWakesTheBackgroundCheckpointerAsTheLogGrows) {
  // A period no test outlives: only the writer's wake-ups run it.
  const WalPolicy policy{.checkpoint_at_bytes = 64 * kMiB,
                         .background_wake_bytes = 256 * 1024,
                         .background_period = absl::Hours(1)};
  auto db = SqliteConnections::Open(dir_.path(), policy);
  ASSERT_TRUE(db.ok()) << db.status();
  CreateLoadTable(**db);
  Write(**db, 64 * 1024);
  EXPECT_FALSE((*db)->WaitForBackgroundCheckpoints(1, absl::ZeroDuration()))
      << "woken before the log grew by background_wake_bytes";
  for (int w = 0; w < 8; ++w) Write(**db, 64 * 1024);
  EXPECT_TRUE((*db)->WaitForBackgroundCheckpoints(1, absl::Seconds(30)))
      << "the log grew by twice background_wake_bytes and nobody woke the checkpointer";
  EXPECT_EQ(Rows(**db), 9);
}

TEST_F(SqliteWalTest, LogReturnsUnderTheBoundOnceReadersLetGo) {
  const WalPolicy policy = ScaledDown(32);
  ASSERT_EQ(policy.checkpoint_at_bytes, 1 * kMiB);
  // The README's bound: twice the checkpoint threshold.
  const int64_t bound = 2 * policy.checkpoint_at_bytes;
  constexpr int64_t kTransaction = 64 * 1024;
  constexpr int kTransactions = 768;  // 48 MiB
  constexpr int kHoldEvery = 128, kHoldFor = 48, kSettle = 16;
  auto db = SqliteConnections::Open(dir_.path(), policy);
  ASSERT_TRUE(db.ok()) << db.status();
  CreateLoadTable(**db);
  int64_t largest_while_held = 0;
  int64_t largest_after_settling = 0;
  // Each cycle: a reader holds a snapshot over kHoldFor commits, lets go,
  // and after kSettle more commits the log must be under the bound.
  for (int cycle = 0; cycle < kTransactions / kHoldEvery; ++cycle) {
    {
      auto reader = (*db)->AcquireReader();
      ASSERT_TRUE(reader.ok()) << reader.status();
      ASSERT_TRUE(reader->db().Exec("BEGIN; SELECT COUNT(*) FROM wal_load").ok());
      for (int w = 0; w < kHoldFor; ++w) Write(**db, kTransaction);
      largest_while_held = std::max(largest_while_held, WalBytes());
      ASSERT_TRUE(reader->db().Exec("ROLLBACK").ok());
    }
    for (int w = kHoldFor; w < kHoldEvery; ++w) {
      Write(**db, kTransaction);
      if (w >= kHoldFor + kSettle) {
        largest_after_settling = std::max(largest_after_settling, WalBytes());
      }
    }
  }
  EXPECT_GT(largest_while_held, bound) << "the held snapshot did not keep the log";
  EXPECT_GT(largest_after_settling, 0);
  EXPECT_LE(largest_after_settling, bound);
  EXPECT_LE(WalBytes(), bound);
  EXPECT_EQ(Rows(**db), kTransactions);
}

TEST_F(SqliteWalTest, RestartsUnderSustainedWritesKeepTheFilesBlocks) {
  // Cut back at a restart, the file would lose blocks that the next pass
  // allocates again, both on the writer's time.
  const WalPolicy policy = ScaledDown(32);
  constexpr int64_t kTransaction = 32 * 1024;
  constexpr int kTransactions = 1024;  // 32 MiB: 32 times the threshold
  auto db = SqliteConnections::Open(dir_.path(), policy);
  ASSERT_TRUE(db.ok()) << db.status();
  CreateLoadTable(**db);
  int64_t largest = 0;
  int64_t cuts = 0;
  int64_t restarts = 0;
  int64_t previous = WalBytes();
  for (int w = 0; w < kTransactions; ++w) {
    Write(**db, kTransaction);
    const int64_t bytes = WalBytes();
    if (bytes < previous) ++cuts;
    largest = std::max(largest, bytes);
    previous = bytes;
    restarts = (*db)->log_restarts();
  }
  EXPECT_GE(restarts, 8) << "the log must restart again and again under these writes";
  EXPECT_EQ(cuts, 0) << "a restart cut the file back";
  EXPECT_LE(largest, policy.size_limit_bytes);
  EXPECT_EQ(Rows(**db), kTransactions);
}

}  // namespace
}  // namespace hart::sqlite
