// The page cache layer that skips truncations with nothing to drop
// (sqlite_page_cache.h): its bound on its own, then over SQLite's cache.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <string>

#include "broker/store/sqlite/sqlite_db.h"
#include "broker/store/sqlite/sqlite_page_cache.h"
#include "tests/support/test_support.h"

namespace hart::sqlite {
namespace {

// SQLite's spare page number for a swap at 4 KiB pages: the lock-byte page.
constexpr unsigned kSparePage = (1u << 30) / 4096 + 1;

PageNumberBound FetchedUpTo(unsigned last) {
  PageNumberBound bound;
  for (unsigned page = 1; page <= last; ++page) bound.Fetched(page);
  return bound;
}

TEST(PageNumberBoundTest, HoldsThePagesFetchedAndNoneAbove) {
  PageNumberBound bound;
  EXPECT_FALSE(bound.MayHoldFrom(1));
  EXPECT_TRUE(bound.MayHoldFrom(0));  // emptying the cache always goes through
  bound = FetchedUpTo(10);
  EXPECT_TRUE(bound.MayHoldFrom(10));
  EXPECT_FALSE(bound.MayHoldFrom(11));
}

TEST(PageNumberBoundTest, ASwapThroughTheSparePageLeavesTheBoundWhereItWas) {
  PageNumberBound bound = FetchedUpTo(10);
  // balance_nonroot's swap of pages 4 and 7.
  EXPECT_TRUE(bound.Moved(4, kSparePage));
  EXPECT_TRUE(bound.MayHoldFrom(11));  // mid-swap the spare page is held
  EXPECT_FALSE(bound.Moved(7, 4));
  EXPECT_FALSE(bound.Moved(kSparePage, 7));
  EXPECT_FALSE(bound.MayHoldFrom(11));
  EXPECT_TRUE(bound.MayHoldFrom(10));
}

TEST(PageNumberBoundTest, APageLeftAboveIsHeldUntilATruncationDropsIt) {
  PageNumberBound bound = FetchedUpTo(10);
  ASSERT_TRUE(bound.Moved(4, kSparePage));  // then discarded, never moved on
  EXPECT_TRUE(bound.MayHoldFrom(11));
  EXPECT_TRUE(bound.MayHoldFrom(kSparePage));
  bound.Truncated(11);
  EXPECT_FALSE(bound.MayHoldFrom(11));
  EXPECT_TRUE(bound.MayHoldFrom(10));
}

TEST(PageNumberBoundTest, ATruncationLowersTheBound) {
  PageNumberBound bound = FetchedUpTo(20);
  bound.Truncated(12);
  EXPECT_FALSE(bound.MayHoldFrom(12));
  EXPECT_TRUE(bound.MayHoldFrom(11));
  bound.Truncated(0);
  EXPECT_FALSE(bound.MayHoldFrom(1));
  // A truncation above the bound does not raise it.
  bound = FetchedUpTo(5);
  bound.Truncated(100);
  EXPECT_FALSE(bound.MayHoldFrom(6));
}

TEST(PageNumberBoundTest, MorePagesAboveThanItTracksHoldEverythingUntilATruncation) {
  PageNumberBound bound = FetchedUpTo(10);
  for (unsigned page = 1; page <= 5; ++page) ASSERT_TRUE(bound.Moved(page, 1000 + page));
  // Four are tracked; the fifth is lost, so even a page above all of them
  // may be held.
  EXPECT_TRUE(bound.MayHoldFrom(5000));
  for (unsigned page = 1; page <= 4; ++page) bound.Moved(1000 + page, page);
  EXPECT_TRUE(bound.MayHoldFrom(5000));
  bound.Truncated(11);
  EXPECT_FALSE(bound.MayHoldFrom(11));
  EXPECT_TRUE(bound.MayHoldFrom(10));
}

// Over SQLite. ctest runs each test in a process of its own: the first
// connection below installs the layer.

std::string Key(std::mt19937_64& random) {
  return std::to_string(random()) + std::string(40, 'k');
}

int64_t CountRows(SqliteDb& db) {
  auto count = db.Prepare("SELECT count(*) FROM t");
  EXPECT_TRUE(count.ok()) << count.status();
  EXPECT_TRUE(*(*count)->Step());
  return (*count)->Int(0);
}

std::string IntegrityCheck(SqliteDb& db) {
  auto check = db.Prepare("PRAGMA integrity_check");
  EXPECT_TRUE(check.ok()) << check.status();
  EXPECT_TRUE(*(*check)->Step());
  return (*check)->Text(0);
}

// A database in WAL mode, as the store's, with one keyed table `t`.
absl::StatusOr<std::unique_ptr<SqliteDb>> OpenTable(const std::string& path) {
  auto db = SqliteDb::Open(path, /*read_only=*/false);
  if (!db.ok()) return db.status();
  for (const char* sql :
       {"PRAGMA journal_mode = WAL", "CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB)"}) {
    if (absl::Status done = (*db)->Exec(sql); !done.ok()) return done;
  }
  return db;
}

TEST(PageCacheOverSqliteTest, CommitsOfAGrowingDatabaseForwardNoTruncationThoughPagesSwap) {
  hart::testing::TempDir dir;
  auto db = OpenTable(dir.path() + "/swaps.db");
  ASSERT_TRUE(db.ok()) << db.status();
  const PageCacheCounts before = PageCacheCountsSoFar();

  // Random keys split the index's pages in the middle, where new pages
  // come out of order and SQLite swaps them.
  std::mt19937_64 random(15);
  constexpr int kCommits = 200;
  for (int commit = 0; commit < kCommits; ++commit) {
    ASSERT_TRUE((*db)->Exec("BEGIN").ok());
    for (int row = 0; row < 50; ++row) {
      auto insert = (*db)->Prepare("INSERT INTO t (k, v) VALUES (?, zeroblob(200))");
      ASSERT_TRUE(insert.ok()) << insert.status();
      (*insert)->Bind(1, Key(random));
      ASSERT_TRUE((*insert)->Run().ok());
    }
    ASSERT_TRUE((*db)->Exec("COMMIT").ok());
  }

  const PageCacheCounts after = PageCacheCountsSoFar();
  EXPECT_GT(after.pages_moved_above, before.pages_moved_above);
  EXPECT_GE(after.truncations_skipped - before.truncations_skipped, kCommits);
  EXPECT_EQ(after.truncations_forwarded, before.truncations_forwarded);
  EXPECT_EQ(CountRows(**db), kCommits * 50);
  EXPECT_EQ(IntegrityCheck(**db), "ok");
}

TEST(PageCacheOverSqliteTest, ARolledBackGrowthIsDroppedAndTheDatabaseStaysWhole) {
  hart::testing::TempDir dir;
  auto db = OpenTable(dir.path() + "/rollback.db");
  ASSERT_TRUE(db.ok()) << db.status();
  std::map<std::string, int> model;  // key -> blob size
  std::mt19937_64 random(6962);
  for (int round = 0; round < 60; ++round) {
    const bool roll_back = round % 3 == 1;
    ASSERT_TRUE((*db)->Exec("BEGIN").ok());
    std::map<std::string, int> written;
    for (int row = 0; row < 40; ++row) {
      const std::string key = Key(random);
      const int size = static_cast<int>(random() % 6000);  // some overflow pages
      auto insert = (*db)->Prepare("INSERT OR REPLACE INTO t (k, v) VALUES (?, zeroblob(?))");
      ASSERT_TRUE(insert.ok()) << insert.status();
      (*insert)->Bind(1, key).Bind(2, int64_t{size});
      ASSERT_TRUE((*insert)->Run().ok());
      written[key] = size;
    }
    if (!model.empty() && round % 4 == 0) {
      const std::string gone = model.begin()->first;
      auto remove = (*db)->Prepare("DELETE FROM t WHERE k = ?");
      ASSERT_TRUE(remove.ok()) << remove.status();
      (*remove)->Bind(1, gone);
      ASSERT_TRUE((*remove)->Run().ok());
      if (!roll_back) model.erase(gone);
    }
    const PageCacheCounts before_end = PageCacheCountsSoFar();
    ASSERT_TRUE((*db)->Exec(roll_back ? "ROLLBACK" : "COMMIT").ok());
    if (roll_back) {
      // The pages the transaction added are beyond the database now: the
      // layer must let SQLite drop them.
      EXPECT_GT(PageCacheCountsSoFar().truncations_forwarded, before_end.truncations_forwarded)
          << "round " << round;
    } else {
      model.insert(written.begin(), written.end());
    }
  }
  EXPECT_EQ(IntegrityCheck(**db), "ok");
  EXPECT_EQ(CountRows(**db), static_cast<int64_t>(model.size()));
  for (const auto& [key, size] : model) {
    auto read = (*db)->Prepare("SELECT length(v) FROM t WHERE k = ?");
    ASSERT_TRUE(read.ok()) << read.status();
    (*read)->Bind(1, key);
    ASSERT_TRUE(*(*read)->Step()) << key;
    EXPECT_EQ((*read)->Int(0), size);
  }
}

}  // namespace
}  // namespace hart::sqlite
