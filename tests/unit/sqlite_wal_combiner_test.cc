// The writer's write-ahead log reaches the kernel in one write per commit
// (broker/store/sqlite/sqlite_wal_combiner.h): far fewer writes than SQLite
// asks for, every committed row visible to another connection at once,
// transactions larger than one write and than the buffer written whole, and
// a process killed mid-transaction leaves every committed row and nothing of
// the rest.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "broker/store/sqlite/sqlite_db.h"
#include "broker/store/sqlite/sqlite_wal_combiner.h"
#include "tests/support/test_support.h"

namespace hart::sqlite {
namespace {

using ::hart::testing::TempDir;

class WalCombinerTest : public ::testing::Test {
 protected:
  std::string DbPath() const { return dir_.path() + "/t.db"; }

  // The store's writer setup: combined log writes, WAL, synchronous FULL.
  std::unique_ptr<SqliteDb> OpenWriter() {
    auto db = SqliteDb::Open(DbPath(), /*read_only=*/false, SqliteDb::WalWrites::kCombined);
    EXPECT_TRUE(db.ok()) << db.status();
    if (!db.ok()) return nullptr;
    for (const char* pragma : {"PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL",
                               "PRAGMA wal_autocheckpoint = 0",
                               "CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v BLOB)"}) {
      EXPECT_TRUE((*db)->Exec(pragma).ok()) << pragma;
    }
    return std::move(*db);
  }

  // A plain connection, as the store's readers and checkpointer open one.
  std::unique_ptr<SqliteDb> OpenReader() {
    auto db = SqliteDb::Open(DbPath(), /*read_only=*/true);
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? std::move(*db) : nullptr;
  }

  // Inserts `rows` rows of `bytes` bytes each (row k holds k's digit
  // repeated), keys from `first`, in one transaction.
  static absl::Status InsertRows(SqliteDb& db, int first, int rows, int bytes) {
    if (auto s = db.Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
    for (int k = first; k < first + rows; ++k) {
      auto insert = db.Prepare("INSERT INTO t (k, v) VALUES (?, ?)");
      if (!insert.ok()) return insert.status();
      (*insert)->Bind(1, int64_t{k});
      (*insert)->BindBlob(2, RowValue(k, bytes));
      if (auto s = (*insert)->Run(); !s.ok()) return s;
    }
    return db.Exec("COMMIT");
  }

  static std::string RowValue(int k, int bytes) {
    return std::string(static_cast<size_t>(bytes), static_cast<char>('0' + k % 10));
  }

  // Row count and whether every row holds what InsertRows wrote.
  static std::pair<int64_t, bool> Check(SqliteDb& db, int bytes) {
    auto rows = db.Prepare("SELECT k, v FROM t ORDER BY k");
    EXPECT_TRUE(rows.ok());
    int64_t n = 0;
    bool intact = true;
    while (true) {
      auto more = (*rows)->Step();
      EXPECT_TRUE(more.ok()) << more.status();
      if (!more.ok() || !*more) break;
      ++n;
      const int k = static_cast<int>((*rows)->Int(0));
      intact = intact && (*rows)->Text(1) == RowValue(k, bytes);
    }
    return {n, intact};
  }

  TempDir dir_;
};

TEST_F(WalCombinerTest, ACommitIsFewWritesAndAnotherConnectionSeesItAtOnce) {
  auto writer = OpenWriter();
  ASSERT_NE(writer, nullptr);
  auto reader = OpenReader();
  ASSERT_NE(reader, nullptr);
  const WalCombinerCounts before = WalCombinerCounted();
  // About 50 pages: SQLite asks for two writes a frame (header, page).
  ASSERT_TRUE(InsertRows(*writer, 0, 100, 2000).ok());
  const WalCombinerCounts after = WalCombinerCounted();
  EXPECT_GE(after.writes_asked - before.writes_asked, 100u);
  EXPECT_LE(after.writes_made - before.writes_made, 4u);
  EXPECT_EQ(Check(*reader, 2000), std::make_pair(int64_t{100}, true));
}

TEST_F(WalCombinerTest, ATransactionLargerThanOneWriteAndTheBufferIsWrittenWhole) {
  auto writer = OpenWriter();
  ASSERT_NE(writer, nullptr);
  const WalCombinerCounts before = WalCombinerCounted();
  // 3 MiB: more than the 1 MiB buffer and than the unix VFS's largest write.
  ASSERT_TRUE(InsertRows(*writer, 0, 768, 4096).ok());
  ASSERT_TRUE(InsertRows(*writer, 768, 10, 4096).ok());
  EXPECT_GE(WalCombinerCounted().writes_made - before.writes_made, 3u * 8u);
  auto reader = OpenReader();
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(Check(*reader, 4096), std::make_pair(int64_t{778}, true));
  auto integrity = reader->Prepare("PRAGMA integrity_check");
  ASSERT_TRUE(integrity.ok());
  ASSERT_TRUE(*(*integrity)->Step());
  EXPECT_EQ((*integrity)->Text(0), "ok");
}

TEST_F(WalCombinerTest, AProcessKilledMidTransactionKeepsEveryCommitAndNothingElse) {
  ASSERT_NE(OpenWriter(), nullptr);  // creates the table; closed again
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Committed, then a transaction's pages written (SQLite spills to the
    // log past its cache) but never committed, then killed: no close, no
    // flush of what the shim holds.
    auto db = SqliteDb::Open(DbPath(), false, SqliteDb::WalWrites::kCombined);
    if (!db.ok()) _exit(2);
    for (const char* pragma : {"PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL",
                               "PRAGMA cache_size = 10"}) {
      if (!(*db)->Exec(pragma).ok()) _exit(3);
    }
    if (!InsertRows(**db, 0, 50, 3000).ok()) _exit(4);
    if (!(*db)->Exec("BEGIN IMMEDIATE").ok()) _exit(5);
    for (int k = 1000; k < 1400; ++k) {
      auto insert = (*db)->Prepare("INSERT INTO t (k, v) VALUES (?, ?)");
      if (!insert.ok()) _exit(6);
      (*insert)->Bind(1, int64_t{k});
      (*insert)->BindBlob(2, RowValue(k, 3000));
      if (!(*insert)->Run().ok()) _exit(7);
    }
    kill(getpid(), SIGKILL);
    _exit(8);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  auto writer = OpenWriter();  // recovers the log
  ASSERT_NE(writer, nullptr);
  EXPECT_EQ(Check(*writer, 3000), std::make_pair(int64_t{50}, true));
  ASSERT_TRUE(InsertRows(*writer, 50, 5, 3000).ok());  // and it goes on
  EXPECT_EQ(Check(*writer, 3000), std::make_pair(int64_t{55}, true));
}

}  // namespace
}  // namespace hart::sqlite
