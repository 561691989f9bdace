// The SQLite backend's connections to one data directory: the directory
// lock (one broker process per directory), one writer connection (WAL,
// synchronous=FULL: every commit is fsynced before it returns), a pool of
// read-only connections so reads never wait for a commit, and a background
// WAL checkpointer so the writer never pays for checkpoints in its commits.
//
// Thread safety: the writer is guarded by write_mu(); readers are borrowed
// per call and returned when the Reader dies.
#pragma once

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/store/sqlite/sqlite_db.h"

namespace hart::sqlite {

class SqliteConnections {
 public:
  // Creates `data_dir` if missing, locks it (FAILED_PRECONDITION if another
  // process holds it), opens the writer and applies the schema.
  static absl::StatusOr<std::unique_ptr<SqliteConnections>> Open(const std::string& data_dir);
  ~SqliteConnections();

  absl::Mutex& write_mu() ABSL_LOCK_RETURNED(write_mu_) { return write_mu_; }
  SqliteDb& writer() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) { return *writer_; }

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

   private:
    SqliteConnections* owner_;
    std::unique_ptr<SqliteDb> db_;
  };
  absl::StatusOr<Reader> AcquireReader();

 private:
  SqliteConnections(std::string path, int lock_fd, std::unique_ptr<SqliteDb> writer);
  void Release(std::unique_ptr<SqliteDb> db);
  void RunCheckpointer();

  const std::string path_;
  const int lock_fd_;
  absl::Mutex write_mu_;
  std::unique_ptr<SqliteDb> writer_ ABSL_GUARDED_BY(write_mu_);
  absl::Mutex readers_mu_;
  std::vector<std::unique_ptr<SqliteDb>> idle_readers_ ABSL_GUARDED_BY(readers_mu_);
  absl::Mutex checkpointer_mu_;
  bool stopping_ ABSL_GUARDED_BY(checkpointer_mu_) = false;
  std::thread checkpointer_;
};

}  // namespace hart::sqlite
