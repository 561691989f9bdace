// A new store is created with kNewStorePageBytes pages (fewer bytes written
// per commit); a store created with other pages keeps them and still opens,
// takes writes and is whole.
#include <gtest/gtest.h>

#include <string>

#include "broker/store/sqlite/sqlite_connections.h"
#include "broker/store/sqlite/sqlite_db.h"
#include "tests/support/test_support.h"

namespace hart::sqlite {
namespace {

// The first column of the first row of `sql` on a pooled reader, as text
// (SQLite's own conversion); a failure's message otherwise.
std::string FirstValue(SqliteConnections& db, const char* sql) {
  auto reader = db.AcquireReader();
  if (!reader.ok()) return std::string(reader.status().message());
  auto query = reader->db().Prepare(sql);
  if (!query.ok()) return std::string(query.status().message());
  auto row = (*query)->Step();
  if (!row.ok()) return std::string(row.status().message());
  return *row ? (*query)->Text(0) : "no row";
}

TEST(SqlitePageSizeTest, ANewStoreHasTheSmallerPages) {
  testing::TempDir dir;
  auto db = SqliteConnections::Open(dir.path());
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(FirstValue(**db, "PRAGMA page_size"), std::to_string(kNewStorePageBytes));
  EXPECT_EQ(FirstValue(**db, "PRAGMA integrity_check"), "ok");
}

TEST(SqlitePageSizeTest, AStoreMadeWithOtherPagesKeepsThem) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/hart.db";
  {
    // A store as brokers before this change made it: 4 KiB pages, WAL.
    auto old = SqliteDb::Open(path, /*read_only=*/false);
    ASSERT_TRUE(old.ok()) << old.status();
    for (const char* sql : {"PRAGMA page_size = 4096", "PRAGMA journal_mode = WAL",
                            "CREATE TABLE kept (v TEXT)", "INSERT INTO kept VALUES ('before')"}) {
      ASSERT_TRUE((*old)->Exec(sql).ok()) << sql;
    }
  }
  auto db = SqliteConnections::Open(dir.path());
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(FirstValue(**db, "PRAGMA page_size"), "4096");
  {
    absl::MutexLock lock(&(*db)->write_mu());
    ASSERT_TRUE((*db)->writer().Exec("INSERT INTO kept VALUES ('after')").ok());
  }
  EXPECT_EQ(FirstValue(**db, "SELECT COUNT(*) FROM kept"), "2");
  EXPECT_EQ(FirstValue(**db, "PRAGMA integrity_check"), "ok");
}

}  // namespace
}  // namespace hart::sqlite
