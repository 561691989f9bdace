// Ends a long statement when a flag is set from another thread: SQLite's
// progress handler looks at the flag every `check_steps` virtual-machine
// steps and, once it is set, interrupts the statement (SQLITE_INTERRUPT).
// For the operators' snapshot, whose count of a backlog of millions a
// stopping broker must not wait for (sqlite_ops_snapshot.cc).
//
// Thread safety: the flag may be set from any thread; the guard lives on
// the thread that uses the connection, one guard per connection at a time.
#pragma once

#include <sqlite3.h>

#include <atomic>

namespace hart::sqlite {

class InterruptOnceStopped {
 public:
  // Well under a second between two looks, on a count over a million
  // deliveries, cold or warm (0.26 s from a stop's signal to its end).
  static constexpr int kCheckSteps = 10000;

  // `db` and `stopped` outlive the guard.
  InterruptOnceStopped(sqlite3* db, const std::atomic<bool>& stopped,
                       int check_steps = kCheckSteps)
      : db_(db) {
    sqlite3_progress_handler(db_, check_steps, &Check, const_cast<std::atomic<bool>*>(&stopped));
  }
  // A temporary flag would be gone before the statement runs.
  InterruptOnceStopped(sqlite3* db, const std::atomic<bool>&& stopped,
                       int check_steps = kCheckSteps) = delete;
  InterruptOnceStopped(const InterruptOnceStopped&) = delete;
  InterruptOnceStopped& operator=(const InterruptOnceStopped&) = delete;
  // Off again: the connection's next user is not interrupted.
  ~InterruptOnceStopped() { sqlite3_progress_handler(db_, 0, nullptr, nullptr); }

 private:
  // Non-zero interrupts the statement.
  static int Check(void* stopped) {
    return static_cast<const std::atomic<bool>*>(stopped)->load(std::memory_order_acquire) ? 1
                                                                                          : 0;
  }

  sqlite3* const db_;
};

}  // namespace hart::sqlite
