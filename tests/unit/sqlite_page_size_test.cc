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

int64_t PageSize(SqliteConnections& db) {
  auto reader = db.AcquireReader();
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return -1;
  auto page_size = reader->db().Prepare("PRAGMA page_size");
  EXPECT_TRUE(page_size.ok()) << page_size.status();
  if (!page_size.ok()) return -1;
  auto row = (*page_size)->Step();
  EXPECT_TRUE(row.ok() && *row);
  return (*page_size)->Int(0);
}

std::string IntegrityOf(SqliteConnections& db) {
  auto reader = db.AcquireReader();
  if (!reader.ok()) return std::string(reader.status().message());
  auto check = reader->db().Prepare("PRAGMA integrity_check");
  if (!check.ok()) return std::string(check.status().message());
  auto row = (*check)->Step();
  if (!row.ok() || !*row) return "no row";
  return (*check)->Text(0);
}

TEST(SqlitePageSizeTest, ANewStoreHasTheSmallerPages) {
  testing::TempDir dir;
  auto db = SqliteConnections::Open(dir.path());
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(PageSize(**db), kNewStorePageBytes);
  EXPECT_EQ(IntegrityOf(**db), "ok");
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
  EXPECT_EQ(PageSize(**db), 4096);
  {
    absl::MutexLock lock(&(*db)->write_mu());
    ASSERT_TRUE((*db)->writer().Exec("INSERT INTO kept VALUES ('after')").ok());
  }
  {
    auto reader = (*db)->AcquireReader();
    ASSERT_TRUE(reader.ok()) << reader.status();
    auto count = reader->db().Prepare("SELECT COUNT(*) FROM kept");
    ASSERT_TRUE(count.ok()) << count.status();
    auto row = (*count)->Step();
    ASSERT_TRUE(row.ok() && *row);
    EXPECT_EQ((*count)->Int(0), 2);
  }
  EXPECT_EQ(IntegrityOf(**db), "ok");
}

}  // namespace
}  // namespace hart::sqlite
