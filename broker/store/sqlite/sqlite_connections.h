// The SQLite backend's connections to one data directory: the directory
// lock (one broker process per directory), one writer connection (WAL,
// synchronous=FULL: every commit is fsynced before it returns), a pool of
// read-only connections so reads never wait for a commit, and a background
// WAL checkpointer so the writer rarely pays for checkpoints in its commits.
//
// The write-ahead log stays bounded (WalPolicy): the background thread
// copies committed pages into the database without blocking anyone, every
// 200 ms and whenever the writer has added background_wake_bytes to the log
// since it last woke it, so that under load the copying happens beside the
// writer, not in its commits. It never catches up with the last commit,
// though, and SQLite starts the log again from its beginning only once
// every frame is copied. So when the log passes checkpoint_at_bytes, the
// writer itself checkpoints right after a commit, while it holds the write
// lock: no commit can land meanwhile, the log is copied whole unless a
// reader still needs older pages, and the next transaction restarts it.
// When it does is WalRestartPlanner's (sqlite_wal_restart.h): right after
// a background pass that began once the log was that long, so it copies
// only what was committed during that pass.
// A restart cuts the file back to size_limit_bytes, above the length the
// log reaches under sustained writes, so the file keeps its blocks. Open
// and a clean close truncate the log to zero, so a start-up never replays
// a large one.
//
// When the storage fails under a write (a failed write or fsync, a full
// disk; sqlite_storage_failure.h), the writer is taken out of service: see
// OnWriteFailed and RecoverWriter (sqlite_writer_recovery.cc).
//
// Thread safety: the writer is guarded by write_mu(); readers are borrowed
// per call and returned when the Reader dies.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/store/sqlite/sqlite_db.h"
#include "broker/store/sqlite/sqlite_wal_restart.h"

namespace hart::sqlite {

// The page size of a store created from now on. SQLite writes every page a
// commit touches whole to the log, and an intake touches some 30 B-trees
// (tables and indexes) for a row or two each: with 4 KiB pages the broker
// wrote about 215 MiB/s at 1,000 intakes a second, 219 KiB an intake, and
// the disk's syncs stalled under it. 2 KiB pages write a third less, with
// about half the time the machine stood waiting on the disk and no more
// CPU (docs/performance-log.md, 2026-12-07). A store keeps the page size it
// was created with: in WAL mode SQLite ignores a new one.
inline constexpr int kNewStorePageBytes = 2048;

// The README's bound (storage section): once readers let go of old
// snapshots, the log restarts before it is checkpoint_at_bytes plus
// restart_patience_bytes plus the largest transaction long, and the -wal
// file is at most that or size_limit_bytes, whichever is larger.
struct WalPolicy {
  // From this length on the writer seeks to restart the log.
  int64_t checkpoint_at_bytes = int64_t{32} << 20;
  // It checkpoints once the background checkpointer has left at most this
  // much to copy ...
  int64_t restart_remainder_bytes = int64_t{1} << 20;
  // ... or once the log has grown this much more, whatever is left.
  int64_t restart_patience_bytes = int64_t{8} << 20;
  // If a reader kept the log from being copied whole, the writer tries
  // again once this much more was written.
  int64_t checkpoint_retry_bytes = int64_t{4} << 20;
  // PRAGMA journal_size_limit: the file is cut back to this when the log
  // restarts. Twice the threshold, over what the log reaches between
  // restarts, so a restart overwrites blocks the file has: cut back to the
  // threshold, the file lost blocks at every restart that the next pass
  // allocated again, and the writer waited for both (9-84 ms a cut).
  int64_t size_limit_bytes = int64_t{64} << 20;
  // The writer wakes the background checkpointer each time the log grew by
  // this much (measured: at 4,000 intakes/s the log grows ~160 MiB/s, and
  // the writer copied what the 200 ms period had left, 7 % of its time).
  int64_t background_wake_bytes = int64_t{4} << 20;
  // The background checkpointer's period when nobody wakes it.
  absl::Duration background_period = absl::Milliseconds(200);
};

class SqliteConnections {
 public:
  // Creates `data_dir` if missing, locks it (FAILED_PRECONDITION if another
  // process holds it), opens the writer, applies the schema and truncates
  // the write-ahead log.
  static absl::StatusOr<std::unique_ptr<SqliteConnections>> Open(const std::string& data_dir,
                                                                WalPolicy wal = {});
  ~SqliteConnections();

  absl::Mutex& write_mu() ABSL_LOCK_RETURNED(write_mu_) { return write_mu_; }
  SqliteDb& writer() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) { return *writer_; }

  // After a write transaction failed (and rolled back) with `status`. If
  // the storage failed, the writer is out of service from now on and the
  // caller gets ClientStatusForStorageFailure; any other error is returned
  // as it is.
  absl::Status OnWriteFailed(absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  bool writer_failed() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) {
    return !writer_failure_.ok();
  }
  // For a writer out of service: closes it and opens a fresh one that must
  // prove the storage writes and flushes again (ProveDurable). OK: the new
  // writer is in place, still out of service until WriterRecovered() (the
  // caller first checks what it reads). Else the client status, and the old
  // failure stands.
  absl::Status ReopenWriter() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  void WriterRecovered() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  // A read connection borrowed for one call.
  class Reader {
   public:
    Reader(SqliteConnections& owner, std::unique_ptr<SqliteDb> db)
        : owner_(&owner), db_(std::move(db)) {}
    Reader(Reader&& other) noexcept = default;
    ~Reader() {
      if (db_) owner_->Release(std::move(db_));
    }
    SqliteDb& db() { return *db_; }
    // Runs `body(db())` inside one read transaction: every read in it sees
    // the same commit. Ended either way (a read changes nothing), so the
    // connection goes back to the pool outside a transaction.
    template <typename Body>
    absl::Status InSnapshot(Body&& body) {
      if (absl::Status begun = db_->Exec("BEGIN"); !begun.ok()) return begun;
      const absl::Status read = body(*db_);
      const absl::Status ended = db_->Exec("ROLLBACK");
      return read.ok() ? ended : read;
    }

   private:
    SqliteConnections* owner_;
    std::unique_ptr<SqliteDb> db_;
  };
  absl::StatusOr<Reader> AcquireReader();

  // For tests: waits up to `timeout` until the background checkpointer has
  // finished `runs` checkpoints since the open; false if it has not.
  bool WaitForBackgroundCheckpoints(uint64_t runs, absl::Duration timeout);
  // How many times the writer has seen the log start again since the open.
  uint32_t log_restarts() const { return log_generation_.load(std::memory_order_acquire); }

 private:
  SqliteConnections(std::string path, int lock_fd, std::unique_ptr<SqliteDb> writer,
                    WalPolicy wal, int64_t page_size);
  // A writer connection on `path`: WAL, synchronous=FULL, the log policy.
  static absl::StatusOr<std::unique_ptr<SqliteDb>> OpenWriter(const std::string& path,
                                                              const WalPolicy& wal);
  void Release(std::unique_ptr<SqliteDb> db);
  void RunCheckpointer();
  // The writer's wal hook: after each commit, with the log's frame count.
  static int OnCommit(void* self, sqlite3* db, const char* name, int wal_frames);
  void CheckpointAfterCommit(int64_t wal_frames, bool wait_for_background)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  void WakeCheckpointer();
  // What the background checkpointer's last pass copied, as the writer's
  // planner counts generations of the log.
  WalRestartPlanner::Copied CopiedByCheckpointer() const;
  bool CheckpointerHasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(checkpointer_mu_) {
    return stopping_ || checkpoint_wanted_;
  }

  const std::string path_;
  const int lock_fd_;
  const WalPolicy wal_;
  absl::Mutex write_mu_;
  std::unique_ptr<SqliteDb> writer_ ABSL_GUARDED_BY(write_mu_);
  // OK while the writer is in service; else the storage failure that took
  // it out (the first one: the cause an operator needs).
  absl::Status writer_failure_ ABSL_GUARDED_BY(write_mu_);
  WalRestartPlanner planner_ ABSL_GUARDED_BY(write_mu_);
  // The planner's generation, published for the checkpointer, and what its
  // last pass copied (generation << 32 | frames): no lock between them.
  std::atomic<uint32_t> log_generation_{0};
  std::atomic<uint64_t> copied_mark_{0};
  absl::Mutex readers_mu_;
  std::vector<std::unique_ptr<SqliteDb>> idle_readers_ ABSL_GUARDED_BY(readers_mu_);
  // Held while the background checkpointer checkpoints, so that a
  // recovering writer's TRUNCATE checkpoint does not find the checkpoint
  // lock taken. Taken after write_mu_.
  absl::Mutex checkpoint_run_mu_;
  absl::Mutex checkpointer_mu_;
  bool stopping_ ABSL_GUARDED_BY(checkpointer_mu_) = false;
  bool checkpoint_wanted_ ABSL_GUARDED_BY(checkpointer_mu_) = false;
  uint64_t background_checkpoints_ ABSL_GUARDED_BY(checkpointer_mu_) = 0;
  std::thread checkpointer_;
};

}  // namespace hart::sqlite
