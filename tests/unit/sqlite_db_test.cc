// SqliteDb's process-wide set-up of the SQLite library.
#include <gtest/gtest.h>
#include <sqlite3.h>

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

}  // namespace
}  // namespace hart::sqlite
