// The fault-injecting SQLite VFS (broker/store/sqlite/sqlite_fault_vfs.h):
// its rules, and a plain SQLite connection in WAL mode under it, told
// through the control file to fail the next fsync, short a write, fill the
// disk, or do so until the file changes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdio>
#include <fstream>

#include "broker/store/sqlite/sqlite_db.h"
#include "broker/store/sqlite/sqlite_fault_rules.h"
#include "broker/store/sqlite/sqlite_fault_vfs.h"
#include "tests/support/test_support.h"

namespace hart::sqlite {
namespace {

using ::hart::testing::TempDir;
using ::testing::HasSubstr;

TEST(FaultRulesTest, ParsesEveryForm) {
  auto rules = ParseFaultRules(
      "# comment\n"
      "sync fail\n"
      "\n"
      "write short file=wal skip=3 count=1  # the fourth log write\n"
      "write full file=db\n"
      "write fail count=2\n");
  ASSERT_TRUE(rules.ok()) << rules.status();
  ASSERT_EQ(rules->size(), 4u);
  EXPECT_EQ((*rules)[0].op, FaultOp::kSync);
  EXPECT_EQ((*rules)[0].effect, FaultEffect::kFail);
  EXPECT_EQ((*rules)[0].file, FaultFile::kAny);
  EXPECT_FALSE((*rules)[0].count.has_value());
  EXPECT_EQ((*rules)[1].effect, FaultEffect::kShort);
  EXPECT_EQ((*rules)[1].file, FaultFile::kWal);
  EXPECT_EQ((*rules)[1].skip, 3u);
  EXPECT_EQ((*rules)[1].count, 1u);
  EXPECT_EQ((*rules)[2].effect, FaultEffect::kFull);
  EXPECT_EQ((*rules)[2].file, FaultFile::kDb);
  EXPECT_EQ((*rules)[3].count, 2u);
  EXPECT_TRUE(ParseFaultRules("").ok());
}

TEST(FaultRulesTest, RejectsWhatItDoesNotUnderstandByLine) {
  for (const char* bad : {"fsync fail", "sync short", "sync", "write fail count=x",
                          "write fail file=journal", "write fail when=now", "write fail 3"}) {
    auto rules = ParseFaultRules(std::string("sync fail\n") + bad);
    ASSERT_FALSE(rules.ok()) << bad;
    EXPECT_THAT(std::string(rules.status().message()), HasSubstr("line 2")) << bad;
  }
}

TEST(FaultRulesTest, SkipsThenFailsCountCallsOfItsFileOnly) {
  FaultRules rules({{FaultOp::kWrite, FaultEffect::kShort, FaultFile::kWal, 2, 2}});
  EXPECT_FALSE(rules.Decide(FaultOp::kWrite, FaultFile::kDb));  // another file
  EXPECT_FALSE(rules.Decide(FaultOp::kSync, FaultFile::kWal));  // another call
  EXPECT_FALSE(rules.Decide(FaultOp::kWrite, FaultFile::kWal));  // skipped
  EXPECT_FALSE(rules.Decide(FaultOp::kWrite, FaultFile::kWal));  // skipped
  EXPECT_EQ(rules.Decide(FaultOp::kWrite, FaultFile::kWal), FaultEffect::kShort);
  EXPECT_EQ(rules.Decide(FaultOp::kWrite, FaultFile::kWal), FaultEffect::kShort);
  EXPECT_FALSE(rules.Decide(FaultOp::kWrite, FaultFile::kWal));  // spent
  FaultRules forever({{FaultOp::kSync, FaultEffect::kFail, FaultFile::kAny, 0, std::nullopt}});
  for (int i = 0; i < 5; ++i) EXPECT_EQ(forever.Decide(FaultOp::kSync, FaultFile::kDb), FaultEffect::kFail);
}

// A WAL database with synchronous=FULL under the fault VFS, and its
// control file.
class FaultVfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    control_ = dir_.path() + "/faults";
    ASSERT_TRUE(InstallFaultVfs(control_).ok());
    ASSERT_STREQ(sqlite3_vfs_find(nullptr)->zName, "hart-fault");
    ASSERT_EQ(sqlite3_open((dir_.path() + "/t.db").c_str(), &db_), SQLITE_OK);
    sqlite3_extended_result_codes(db_, 1);
    ASSERT_EQ(Exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                   "CREATE TABLE t (v TEXT)"),
              SQLITE_OK);
  }
  void TearDown() override {
    std::remove(control_.c_str());
    sqlite3_close(db_);
  }

  int Exec(const std::string& sql) { return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr); }
  // Replaced atomically, as the header asks.
  void Command(const std::string& rules) {
    const std::string tmp = control_ + ".tmp";
    std::ofstream(tmp) << rules;
    ASSERT_EQ(std::rename(tmp.c_str(), control_.c_str()), 0);
  }
  int64_t Rows() {
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db_, "SELECT count(*) FROM t", -1, &stmt, nullptr);
    sqlite3_step(stmt);
    const int64_t n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
  }

  TempDir dir_;
  std::string control_;
  sqlite3* db_ = nullptr;
};

TEST_F(FaultVfsTest, FailsTheNextFsyncOnceAndTheCommitWithIt) {
  ASSERT_EQ(Exec("INSERT INTO t VALUES ('before')"), SQLITE_OK);
  const FaultVfsCounts before = FaultVfsInjected();
  Command("sync fail count=1\n");
  EXPECT_EQ(Exec("INSERT INTO t VALUES ('lost')"), SQLITE_IOERR_FSYNC);
  EXPECT_EQ(FaultVfsInjected().syncs_failed, before.syncs_failed + 1);
  EXPECT_EQ(Rows(), 1);  // the failed commit is not visible
  EXPECT_EQ(Exec("INSERT INTO t VALUES ('after')"), SQLITE_OK);
  EXPECT_EQ(Rows(), 2);
}

TEST_F(FaultVfsTest, FailsEveryFsyncUntilTheFileChanges) {
  Command("sync fail\n");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Exec("INSERT INTO t VALUES ('x')"), SQLITE_IOERR_FSYNC);
  Command("# cleared\n");
  EXPECT_EQ(Exec("INSERT INTO t VALUES ('y')"), SQLITE_OK);
  EXPECT_EQ(Rows(), 1);
}

TEST_F(FaultVfsTest, ShortAndFailedWritesAreIoErrors) {
  const FaultVfsCounts before = FaultVfsInjected();
  Command("write short file=wal count=1\n");
  EXPECT_EQ(Exec("INSERT INTO t VALUES ('short')"), SQLITE_IOERR_WRITE);
  Command("write fail count=1\n");
  EXPECT_EQ(Exec("INSERT INTO t VALUES ('failed')"), SQLITE_IOERR_WRITE);
  EXPECT_EQ(FaultVfsInjected().writes_failed, before.writes_failed + 2);
  EXPECT_EQ(Exec("INSERT INTO t VALUES ('fine')"), SQLITE_OK);
  EXPECT_EQ(Rows(), 1);
}

TEST_F(FaultVfsTest, AFullDiskIsSqliteFullUntilRoomReturns) {
  Command("write full\n");
  EXPECT_EQ(Exec("INSERT INTO t VALUES ('no room')") & 0xff, SQLITE_FULL);
  EXPECT_EQ(Exec("INSERT INTO t VALUES ('no room')") & 0xff, SQLITE_FULL);
  ASSERT_EQ(std::remove(control_.c_str()), 0);  // a missing file: no fault
  EXPECT_EQ(Exec("INSERT INTO t VALUES ('room')"), SQLITE_OK);
  EXPECT_EQ(Rows(), 1);
}

TEST_F(FaultVfsTest, TheDatabaseFileAloneCanFailItsCheckpointFsync) {
  ASSERT_EQ(Exec("INSERT INTO t VALUES ('a')"), SQLITE_OK);
  Command("sync fail file=db\n");
  EXPECT_EQ(Exec("INSERT INTO t VALUES ('b')"), SQLITE_OK);  // the log's fsync is fine
  int log = -1, copied = -1;
  EXPECT_EQ(sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log, &copied),
            SQLITE_IOERR_FSYNC);
  Command("");
  EXPECT_EQ(sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log, &copied),
            SQLITE_OK);
  EXPECT_EQ(Rows(), 2);
}

// The writer's combined log writes (sqlite_wal_combiner.h) go through the
// seam as one write a commit: a short one fails that commit alone, and a
// failed fsync finds the frames already written, as the kernel would.
TEST_F(FaultVfsTest, UnderTheWalCombinerAFailedWriteOrFsyncFailsOnlyItsCommit) {
  sqlite3_close(db_);
  db_ = nullptr;
  auto writer = SqliteDb::Open(dir_.path() + "/t.db", false, SqliteDb::WalWrites::kCombined);
  ASSERT_TRUE(writer.ok()) << writer.status();
  SqliteDb& db = **writer;
  ASSERT_TRUE(db.Exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL").ok());
  ASSERT_TRUE(db.Exec("INSERT INTO t VALUES ('before')").ok());
  const FaultVfsCounts before = FaultVfsInjected();
  Command("write short file=wal count=1\n");
  EXPECT_EQ(db.Exec("INSERT INTO t VALUES ('short')").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(FaultVfsInjected().writes_failed, before.writes_failed + 1);  // one write a commit
  Command("sync fail file=wal count=1\n");
  EXPECT_FALSE(db.Exec("INSERT INTO t VALUES ('unsynced')").ok());
  EXPECT_EQ(FaultVfsInjected().syncs_failed, before.syncs_failed + 1);
  Command("");
  ASSERT_TRUE(db.Exec("INSERT INTO t VALUES ('after')").ok());
  auto rows = db.Prepare("SELECT group_concat(v, ',') FROM (SELECT v FROM t ORDER BY rowid)");
  ASSERT_TRUE(rows.ok());
  ASSERT_TRUE(*(*rows)->Step());
  EXPECT_EQ((*rows)->Text(0), "before,after");
}

TEST_F(FaultVfsTest, AMalformedControlFileInjectsNothing) {
  Command("sync explode\n");
  EXPECT_EQ(Exec("INSERT INTO t VALUES ('x')"), SQLITE_OK);
}

}  // namespace
}  // namespace hart::sqlite
