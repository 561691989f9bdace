// SqliteDb's process-wide set-up of the SQLite library.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>
#include <utility>

#include "broker/store/sqlite/sqlite_db.h"
#include "tests/support/test_support.h"

namespace hart::sqlite {
namespace {

// ctest runs each test in a process of its own: this one opens the first
// connection. With the statistics on, every allocation takes a global mutex
// and sqlite3_memory_used() counts the cache and statements below.
TEST(SqliteDbTest, TheFirstOpenTurnsOffTheAllocationStatistics) {
  hart::testing::TempDir dir;
  auto db = SqliteDb::Open(dir.path() + "/stats.db", /*read_only=*/false);
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t (v TEXT); INSERT INTO t VALUES (randomblob(100000))").ok());
  EXPECT_EQ(sqlite3_memory_used(), 0);
}

// BindRef leaves the string where it is: a temporary would be gone before
// the statement runs, so binding one does not compile.
template <typename S>
concept BindsRefToTemporaries = requires(S& s, std::string&& v) { s.BindRef(1, std::move(v)); };
template <typename S>
concept BindsBlobRefToTemporaries =
    requires(S& s, std::string&& v) { s.BindBlobRef(1, std::move(v)); };
static_assert(!BindsRefToTemporaries<Statement>);
static_assert(!BindsBlobRefToTemporaries<Statement>);

TEST(SqliteDbTest, BindRefReadsTheCallersStringsWhenTheStatementRuns) {
  hart::testing::TempDir dir;
  auto db = SqliteDb::Open(dir.path() + "/bindref.db", /*read_only=*/false);
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t (k TEXT, v BLOB)").ok());
  std::string key = "delivery-1";
  std::string value("\0\x01\xff", 3);
  {
    auto insert = (*db)->Prepare("INSERT INTO t (k, v) VALUES (?, ?)");
    ASSERT_TRUE(insert.ok()) << insert.status();
    (*insert)->BindRef(1, key).BindBlobRef(2, value);
    ASSERT_TRUE((*insert)->Run().ok());
  }
  // The cached statement, bound again to other strings, and empty ones.
  std::string other_key = "delivery-22";
  const std::string empty;
  {
    auto insert = (*db)->Prepare("INSERT INTO t (k, v) VALUES (?, ?)");
    ASSERT_TRUE(insert.ok()) << insert.status();
    (*insert)->BindRef(1, other_key).BindBlobRef(2, empty);
    ASSERT_TRUE((*insert)->Run().ok());
  }
  auto read = (*db)->Prepare("SELECT k, v, typeof(v) FROM t ORDER BY rowid");
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_TRUE(*(*read)->Step());
  EXPECT_EQ((*read)->Text(0), "delivery-1");
  EXPECT_EQ((*read)->Text(1), value);
  ASSERT_TRUE(*(*read)->Step());
  EXPECT_EQ((*read)->Text(0), "delivery-22");
  EXPECT_EQ((*read)->Text(1), "");
  EXPECT_EQ((*read)->Text(2), "blob");
  EXPECT_FALSE(*(*read)->Step());
}

}  // namespace
}  // namespace hart::sqlite
