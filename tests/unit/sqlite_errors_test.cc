// The SQLite backend keeps the store's error contract
// (broker/include/broker/store_errors.h): real SQLite failures, provoked
// through SqliteDb, come back with the contract's codes, marked as backend
// text, with no bound value in the message.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>

#include "broker/store/sqlite/sqlite_db.h"
#include "broker/store_errors.h"
#include "tests/support/test_support.h"

namespace hart::sqlite {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class SqliteErrorsTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }

  // A writable database with one table whose columns carry every kind of
  // constraint.
  std::unique_ptr<SqliteDb> OpenWithTable(const std::string& name) {
    auto db = SqliteDb::Open(Path(name), /*read_only=*/false);
    EXPECT_TRUE(db.ok()) << db.status();
    EXPECT_TRUE((*db)->Exec("CREATE TABLE items (id TEXT PRIMARY KEY, "
                            "code TEXT NOT NULL UNIQUE, size INTEGER CHECK (size >= 0))")
                    .ok());
    return std::move(*db);
  }

  static absl::Status Insert(SqliteDb& db, const std::string& id, const std::string& code) {
    auto stmt = db.Prepare("INSERT INTO items (id, code, size) VALUES (?, ?, 1)");
    if (!stmt.ok()) return stmt.status();
    (*stmt)->Bind(1, id).Bind(2, code);
    return (*stmt)->Run();
  }

  hart::testing::TempDir dir_;
};

TEST_F(SqliteErrorsTest, PrimaryKeyCollisionIsAlreadyExists) {
  auto db = OpenWithTable("pk.db");
  ASSERT_TRUE(Insert(*db, "id-secret-1", "code-a").ok());
  const absl::Status status = Insert(*db, "id-secret-1", "code-b");
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists) << status;
  EXPECT_EQ(BackendOf(status), "sqlite");
  // SQLite names the column, never the value.
  EXPECT_THAT(std::string(status.message()), HasSubstr("items.id"));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("id-secret-1")));
}

TEST_F(SqliteErrorsTest, UniqueKeyCollisionIsAlreadyExists) {
  auto db = OpenWithTable("unique.db");
  ASSERT_TRUE(Insert(*db, "id-1", "code-secret").ok());
  const absl::Status status = Insert(*db, "id-2", "code-secret");
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists) << status;
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("code-secret")));
}

TEST_F(SqliteErrorsTest, NotNullViolationIsInternal) {
  auto db = OpenWithTable("notnull.db");
  auto stmt = db->Prepare("INSERT INTO items (id, code, size) VALUES (?, NULL, 1)");
  ASSERT_TRUE(stmt.ok());
  (*stmt)->Bind(1, std::string("id-secret-2"));
  const absl::Status status = (*stmt)->Run();
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << status;
  EXPECT_EQ(BackendOf(status), "sqlite");
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("id-secret-2")));
}

TEST_F(SqliteErrorsTest, CheckViolationIsInternal) {
  auto db = OpenWithTable("check.db");
  const absl::Status status = db->Exec("INSERT INTO items (id, code, size) VALUES ('a', 'b', -1)");
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << status;
}

TEST_F(SqliteErrorsTest, ForeignKeyViolationIsInternal) {
  auto db = OpenWithTable("fk.db");
  ASSERT_TRUE(db->Exec("PRAGMA foreign_keys = ON").ok());
  ASSERT_TRUE(db->Exec("CREATE TABLE parts (item_id TEXT NOT NULL REFERENCES items (id))").ok());
  const absl::Status status = db->Exec("INSERT INTO parts (item_id) VALUES ('nobody')");
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << status;
}

TEST_F(SqliteErrorsTest, WriteThroughAReadOnlyConnectionIsUnavailable) {
  OpenWithTable("readonly.db");
  auto reader = SqliteDb::Open(Path("readonly.db"), /*read_only=*/true);
  ASSERT_TRUE(reader.ok()) << reader.status();
  const absl::Status status = Insert(**reader, "id-1", "code-1");
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_EQ(BackendOf(status), "sqlite");
}

TEST_F(SqliteErrorsTest, WriteWhileAnotherConnectionHoldsTheLockIsUnavailable) {
  auto holder = OpenWithTable("locked.db");
  auto writer = SqliteDb::Open(Path("locked.db"), /*read_only=*/false);
  ASSERT_TRUE(writer.ok()) << writer.status();
  // Fail at once instead of waiting out the default busy timeout.
  ASSERT_TRUE((*writer)->Exec("PRAGMA busy_timeout = 0").ok());
  ASSERT_TRUE(holder->Exec("BEGIN EXCLUSIVE").ok());
  const absl::Status status = (*writer)->Exec("BEGIN IMMEDIATE");
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  ASSERT_TRUE(holder->Exec("COMMIT").ok());
  EXPECT_TRUE((*writer)->Exec("BEGIN IMMEDIATE").ok());
}

TEST_F(SqliteErrorsTest, UnopenableFileIsUnavailable) {
  // A directory that does not exist cannot hold the database file.
  auto db = SqliteDb::Open(Path("missing-dir/x.db"), /*read_only=*/false);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), absl::StatusCode::kUnavailable) << db.status();
}

TEST_F(SqliteErrorsTest, FullDatabaseIsResourceExhausted) {
  auto db = OpenWithTable("full.db");
  // Below the current size, the limit becomes the current size: no page more.
  ASSERT_TRUE(db->Exec("PRAGMA max_page_count = 3").ok());
  absl::Status status;
  for (int i = 0; i < 1000 && status.ok(); ++i) {
    status = Insert(*db, "id-" + std::to_string(i), std::string(200, 'x') + std::to_string(i));
  }
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_EQ(BackendOf(status), "sqlite");
}

TEST_F(SqliteErrorsTest, GarbageFileIsDataLoss) {
  {
    std::ofstream garbage(Path("garbage.db"), std::ios::binary);
    for (int i = 0; i < 512; ++i) garbage << "this is not a database page ";
  }
  // SQLite reads the header lazily: the failure comes at open or at the
  // first statement, and is DATA_LOSS either way.
  auto db = SqliteDb::Open(Path("garbage.db"), /*read_only=*/false);
  absl::Status status = db.status();
  if (db.ok()) status = (*db)->Prepare("SELECT COUNT(*) FROM sqlite_master").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_EQ(BackendOf(status), "sqlite");
}

TEST_F(SqliteErrorsTest, CorruptPagesAreDataLoss) {
  {
    auto db = OpenWithTable("corrupt.db");
    ASSERT_TRUE(db->Exec("BEGIN").ok());
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE(Insert(*db, "id-" + std::to_string(i), std::string(100, 'c') + std::to_string(i))
                      .ok());
    }
    ASSERT_TRUE(db->Exec("COMMIT").ok());
  }
  {
    // Keep the valid header (first 100 bytes); overwrite the pages after it.
    std::fstream file(Path("corrupt.db"), std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(100);
    for (int i = 0; i < 4096 * 3; ++i) file.put(static_cast<char>(0xA5));
  }
  auto db = SqliteDb::Open(Path("corrupt.db"), /*read_only=*/false);
  absl::Status status = db.status();
  if (db.ok()) status = (*db)->Exec("SELECT COUNT(*), SUM(LENGTH(code)) FROM items");
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
}

// Verifies the whole mapping, including result codes no test can provoke
// cheaply (I/O errors, protocol errors).
TEST(SqliteStatusCodeTest, MapsEveryResultCodeFamilyToTheContract) {
  const struct {
    int rc;
    absl::StatusCode code;
  } kCases[] = {
      {SQLITE_CONSTRAINT_PRIMARYKEY, absl::StatusCode::kAlreadyExists},
      {SQLITE_CONSTRAINT_UNIQUE, absl::StatusCode::kAlreadyExists},
      {SQLITE_CONSTRAINT, absl::StatusCode::kInternal},
      {SQLITE_CONSTRAINT_NOTNULL, absl::StatusCode::kInternal},
      {SQLITE_CONSTRAINT_CHECK, absl::StatusCode::kInternal},
      {SQLITE_CONSTRAINT_FOREIGNKEY, absl::StatusCode::kInternal},
      {SQLITE_CONSTRAINT_TRIGGER, absl::StatusCode::kInternal},
      {SQLITE_CONSTRAINT_ROWID, absl::StatusCode::kInternal},
      {SQLITE_BUSY, absl::StatusCode::kUnavailable},
      {SQLITE_BUSY_SNAPSHOT, absl::StatusCode::kUnavailable},
      {SQLITE_LOCKED, absl::StatusCode::kUnavailable},
      {SQLITE_LOCKED_SHAREDCACHE, absl::StatusCode::kUnavailable},
      {SQLITE_IOERR, absl::StatusCode::kUnavailable},
      {SQLITE_IOERR_FSYNC, absl::StatusCode::kUnavailable},
      {SQLITE_IOERR_WRITE, absl::StatusCode::kUnavailable},
      {SQLITE_CANTOPEN, absl::StatusCode::kUnavailable},
      {SQLITE_PROTOCOL, absl::StatusCode::kUnavailable},
      {SQLITE_READONLY, absl::StatusCode::kUnavailable},
      {SQLITE_READONLY_DBMOVED, absl::StatusCode::kUnavailable},
      {SQLITE_FULL, absl::StatusCode::kResourceExhausted},
      {SQLITE_CORRUPT, absl::StatusCode::kDataLoss},
      {SQLITE_CORRUPT_INDEX, absl::StatusCode::kDataLoss},
      {SQLITE_NOTADB, absl::StatusCode::kDataLoss},
      {SQLITE_ERROR, absl::StatusCode::kInternal},
      {SQLITE_MISUSE, absl::StatusCode::kInternal},
      {SQLITE_RANGE, absl::StatusCode::kInternal},
      {SQLITE_MISMATCH, absl::StatusCode::kInternal},
      {SQLITE_TOOBIG, absl::StatusCode::kInternal},
      {SQLITE_NOMEM, absl::StatusCode::kInternal},
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(StatusCodeForSqlite(c.rc), c.code) << sqlite3_errstr(c.rc) << " (" << c.rc << ")";
    const absl::Status status = SqliteError(nullptr, c.rc, "step");
    EXPECT_EQ(status.code(), c.code) << c.rc;
    EXPECT_EQ(BackendOf(status), "sqlite") << c.rc;
  }
}

}  // namespace
}  // namespace hart::sqlite
