#include "broker/store/sqlite/sqlite_connections.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "broker/store/sqlite/sqlite_schema.h"

namespace hart::sqlite {
namespace {

WalRestartPlanner::Frames RestartFrames(const WalPolicy& wal, int64_t page_size) {
  auto frames = [page_size](int64_t bytes) { return std::max<int64_t>(1, bytes / page_size); };
  return {.wake_every = frames(wal.background_wake_bytes),
          .restart_at = frames(wal.checkpoint_at_bytes),
          .remainder = wal.restart_remainder_bytes / page_size,
          .patience = wal.restart_patience_bytes / page_size,
          .retry = frames(wal.checkpoint_retry_bytes)};
}

constexpr uint64_t PackCopied(uint32_t generation, int64_t frames) {
  return uint64_t{generation} << 32 | static_cast<uint32_t>(frames);
}

}  // namespace

SqliteConnections::SqliteConnections(std::string path, int lock_fd,
                                     std::unique_ptr<SqliteDb> writer, WalPolicy wal,
                                     int64_t page_size)
    : path_(std::move(path)),
      lock_fd_(lock_fd),
      wal_(wal),
      writer_(std::move(writer)),
      planner_(RestartFrames(wal, page_size)) {
  {
    absl::MutexLock lock(&write_mu_);
    sqlite3_wal_hook(writer_->raw(), &SqliteConnections::OnCommit, this);
  }
  checkpointer_ = std::thread([this] { RunCheckpointer(); });
}

SqliteConnections::~SqliteConnections() {
  {
    absl::MutexLock lock(&checkpointer_mu_);
    stopping_ = true;
  }
  if (checkpointer_.joinable()) checkpointer_.join();
  // Readers first: closed last, a read-only connection cannot checkpoint,
  // and the log would stay on disk whatever its size.
  {
    absl::MutexLock lock(&readers_mu_);
    idle_readers_.clear();
  }
  {
    absl::MutexLock lock(&write_mu_);
    sqlite3_wal_hook(writer_->raw(), nullptr, nullptr);
    // Copies the log into the database and truncates it; closing the last
    // connection then removes the file.
    sqlite3_wal_checkpoint_v2(writer_->raw(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr,
                              nullptr);
    writer_.reset();
  }
  if (lock_fd_ >= 0) close(lock_fd_);
}

absl::StatusOr<std::unique_ptr<SqliteConnections>> SqliteConnections::Open(
    const std::string& data_dir, WalPolicy wal) {
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
  auto writer = OpenWriter(path, wal);
  // No other connection is open yet: the truncating checkpoint waits for
  // nobody, and a log left by a crash (replayed by this open) is gone
  // before the next start-up.
  absl::Status truncated = writer.ok() ? (*writer)->Exec("PRAGMA wal_checkpoint(TRUNCATE)")
                                       : writer.status();
  if (!truncated.ok()) {
    close(lock_fd);
    return truncated;
  }
  if (auto s = ApplySchema(**writer); !s.ok()) {
    close(lock_fd);
    return s;
  }
  auto page_size = (*writer)->Prepare("PRAGMA page_size");
  absl::StatusOr<bool> row = page_size.ok() ? (*page_size)->Step() : page_size.status();
  if (!row.ok() || !*row) {
    close(lock_fd);
    return row.ok() ? absl::InternalError("PRAGMA page_size returned no row") : row.status();
  }
  const int64_t page_bytes = (*page_size)->Int(0);
  page_size->Release();
  return std::unique_ptr<SqliteConnections>(
      new SqliteConnections(path, lock_fd, std::move(*writer), wal, page_bytes));
}

absl::StatusOr<std::unique_ptr<SqliteDb>> SqliteConnections::OpenWriter(const std::string& path,
                                                                        const WalPolicy& wal) {
  // FULL, which the combined log writes require, is set before any write.
  auto writer = SqliteDb::Open(path, /*read_only=*/false, SqliteDb::WalWrites::kCombined);
  if (!writer.ok()) return writer.status();
  // Before journal_mode: the first write fixes a new store's page size.
  for (const std::string& pragma :
       {absl::StrCat("PRAGMA page_size = ", kNewStorePageBytes),
        std::string("PRAGMA journal_mode = WAL"), std::string("PRAGMA synchronous = FULL"),
        std::string("PRAGMA foreign_keys = ON"), std::string("PRAGMA wal_autocheckpoint = 0"),
        absl::StrCat("PRAGMA journal_size_limit = ", wal.size_limit_bytes)}) {
    if (auto s = (*writer)->Exec(pragma); !s.ok()) return s;
  }
  return writer;
}

int SqliteConnections::OnCommit(void* self, sqlite3*, const char*, int wal_frames) {
  auto* owner = static_cast<SqliteConnections*>(self);
  // Commits run on the writer, under write_mu_ (InWriteTransaction).
  owner->write_mu_.AssertHeld();
  const WalRestartPlanner::Step step =
      owner->planner_.AfterCommit(wal_frames, owner->CopiedByCheckpointer());
  owner->log_generation_.store(owner->planner_.generation(), std::memory_order_release);
  if (step.wake_checkpointer) owner->WakeCheckpointer();
  if (step.checkpoint) owner->CheckpointAfterCommit(wal_frames, step.wait_for_background);
  return SQLITE_OK;
}

void SqliteConnections::CheckpointAfterCommit(int64_t wal_frames, bool wait_for_background) {
  // Unless the bound is at stake, not while a background pass holds the
  // checkpoint: the planner asks again at the next commit, with less left.
  if (wait_for_background) {
    checkpoint_run_mu_.Lock();
  } else if (!checkpoint_run_mu_.TryLock()) {
    return;
  }
  // PASSIVE waits for no reader: it copies what no reader still needs. A
  // reader that keeps old pages keeps the log from restarting; the planner
  // tries again after more writes.
  sqlite3_wal_checkpoint_v2(writer_->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  checkpoint_run_mu_.Unlock();
  planner_.Checkpointed(wal_frames);
}

void SqliteConnections::WakeCheckpointer() {
  // Held only to set a flag: the checkpointer never holds it across I/O.
  absl::MutexLock lock(&checkpointer_mu_);
  checkpoint_wanted_ = true;
}

WalRestartPlanner::Copied SqliteConnections::CopiedByCheckpointer() const {
  const uint64_t mark = copied_mark_.load(std::memory_order_acquire);
  return {.generation = static_cast<uint32_t>(mark >> 32),
          .frames = static_cast<int64_t>(mark & 0xffffffffu)};
}

void SqliteConnections::RunCheckpointer() {
  auto db = SqliteDb::Open(path_, /*read_only=*/false);
  if (!db.ok()) return;
  absl::MutexLock lock(&checkpointer_mu_);
  for (;;) {
    // Paced by real time or woken by the writer; tests wait on the count of
    // runs (WaitForBackgroundCheckpoints), never on the period.
    checkpointer_mu_.AwaitWithTimeout(
        absl::Condition(this, &SqliteConnections::CheckpointerHasWork), wal_.background_period);
    if (stopping_) return;
    checkpoint_wanted_ = false;
    checkpointer_mu_.Unlock();
    {
      absl::MutexLock running(&checkpoint_run_mu_);
      // PASSIVE: copies what no reader still needs, never blocks the
      // writer. A failed fsync leaves the log's copied mark where it was,
      // so the next checkpoint writes those pages again.
      const uint32_t generation = log_generation_.load(std::memory_order_acquire);
      int log_frames = -1, copied_frames = -1;
      const int rc = sqlite3_wal_checkpoint_v2((*db)->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                               &log_frames, &copied_frames);
      // Published only for a pass over the log the writer still counts as
      // current: a restart in between makes it say nothing.
      if (rc == SQLITE_OK && copied_frames >= 0 &&
          generation == log_generation_.load(std::memory_order_acquire)) {
        copied_mark_.store(PackCopied(generation, copied_frames), std::memory_order_release);
      }
    }
    checkpointer_mu_.Lock();
    ++background_checkpoints_;
  }
}

bool SqliteConnections::WaitForBackgroundCheckpoints(uint64_t runs, absl::Duration timeout) {
  absl::MutexLock lock(&checkpointer_mu_);
  auto done = [this, runs]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(checkpointer_mu_) {
    return background_checkpoints_ >= runs;
  };
  return checkpointer_mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
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
