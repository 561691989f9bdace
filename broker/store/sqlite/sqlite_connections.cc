#include "broker/store/sqlite/sqlite_connections.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "broker/store/sqlite/sqlite_schema.h"

namespace hart::sqlite {

SqliteConnections::SqliteConnections(std::string path, int lock_fd,
                                     std::unique_ptr<SqliteDb> writer)
    : path_(std::move(path)), lock_fd_(lock_fd), writer_(std::move(writer)) {
  checkpointer_ = std::thread([this] { RunCheckpointer(); });
}

SqliteConnections::~SqliteConnections() {
  {
    absl::MutexLock lock(&checkpointer_mu_);
    stopping_ = true;
  }
  if (checkpointer_.joinable()) checkpointer_.join();
  {
    absl::MutexLock lock(&write_mu_);
    writer_.reset();
  }
  {
    absl::MutexLock lock(&readers_mu_);
    idle_readers_.clear();
  }
  if (lock_fd_ >= 0) close(lock_fd_);
}

absl::StatusOr<std::unique_ptr<SqliteConnections>> SqliteConnections::Open(
    const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create data directory ", data_dir, ": ", ec.message()));
  }
  const std::string lock_path = data_dir + "/LOCK";
  const int lock_fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) {
    return absl::FailedPreconditionError(absl::StrCat("cannot open ", lock_path));
  }
  if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    close(lock_fd);
    return absl::FailedPreconditionError(absl::StrCat(
        "data directory ", data_dir, " is in use by another broker process"));
  }
  const std::string path = data_dir + "/hart.db";
  auto writer = SqliteDb::Open(path, /*read_only=*/false);
  if (!writer.ok()) {
    close(lock_fd);
    return writer.status();
  }
  for (const char* pragma : {"PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL",
                             "PRAGMA foreign_keys = ON", "PRAGMA wal_autocheckpoint = 0"}) {
    if (auto s = (*writer)->Exec(pragma); !s.ok()) {
      close(lock_fd);
      return s;
    }
  }
  if (auto s = ApplySchema(**writer); !s.ok()) {
    close(lock_fd);
    return s;
  }
  return std::unique_ptr<SqliteConnections>(
      new SqliteConnections(path, lock_fd, std::move(*writer)));
}

void SqliteConnections::RunCheckpointer() {
  auto db = SqliteDb::Open(path_, /*read_only=*/false);
  if (!db.ok()) return;
  absl::MutexLock lock(&checkpointer_mu_);
  for (;;) {
    // Maintenance paced by real time; nothing a test waits for.
    checkpointer_mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Milliseconds(200));
    if (stopping_) return;
    checkpointer_mu_.Unlock();
    // PASSIVE: copies what no reader still needs, never blocks the writer.
    sqlite3_wal_checkpoint_v2((*db)->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    checkpointer_mu_.Lock();
  }
}

absl::StatusOr<SqliteConnections::Reader> SqliteConnections::AcquireReader() {
  {
    absl::MutexLock lock(&readers_mu_);
    if (!idle_readers_.empty()) {
      auto db = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return Reader(*this, std::move(db));
    }
  }
  auto db = SqliteDb::Open(path_, /*read_only=*/true);
  if (!db.ok()) return db.status();
  return Reader(*this, std::move(*db));
}

void SqliteConnections::Release(std::unique_ptr<SqliteDb> db) {
  absl::MutexLock lock(&readers_mu_);
  if (idle_readers_.size() < 16) idle_readers_.push_back(std::move(db));
}

}  // namespace hart::sqlite
