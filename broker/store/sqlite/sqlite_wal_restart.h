// When the writer checkpoints the write-ahead log itself.
//
// SQLite starts the log again from its first frame only at a write
// transaction that finds every frame already copied into the database. The
// background checkpointer copies beside the writer but never reaches the
// last commit, so under sustained writes the writer must copy the rest
// itself, holding the write lock: every commit waits for that copy and for
// the database's fsync, which grow with the pages left to copy (on this
// project's test machine 20-55 ms at a few MiB left, in a slow hour for
// the disk). So once the log is `restart_at` long, the planner wakes the
// background checkpointer and has the writer checkpoint as soon as a pass
// that started after that has ended: what is left is what the writer added
// during that one pass, and another pass would leave about as much. It
// checkpoints sooner if a pass left at most `remainder`. A log `patience`
// frames past the point where it began trying is checkpointed whatever is
// left, waiting for a pass in progress (that is the bound), and a
// checkpoint after which the log did not restart (a reader still needed
// its old pages) is tried again `retry` frames later. The background is
// not woken at a commit that asks for the writer's checkpoint, so that a
// pass does not hold the checkpoint lock then.
//
// Not thread-safe: the writer calls it after each commit, under its lock.
#pragma once

#include <cstdint>

namespace hart::sqlite {

class WalRestartPlanner {
 public:
  struct Frames {
    int64_t wake_every = 1;  // wake the background each time the log grew by this
    int64_t restart_at = 1;  // from this long on, the writer seeks a restart
    int64_t remainder = 0;   // checkpointing once at most this is left to copy
    int64_t patience = 0;    // or once the log grew this much since it began trying
    int64_t retry = 1;       // the next try, after a checkpoint that left the log
  };
  // What the background checkpointer's last pass copied: its frames of the
  // log of `generation` (the planner's count of restarts it has seen).
  struct Copied {
    uint32_t generation = 0;
    int64_t frames = 0;
  };
  struct Step {
    bool wake_checkpointer = false;
    bool checkpoint = false;
    // The bound: checkpoint even if that means waiting for the background's
    // pass to end. Otherwise one that would wait is asked for again later.
    bool wait_for_background = false;
  };

  explicit WalRestartPlanner(Frames frames);

  // After a commit that left `log` frames in the log. A log shorter than at
  // the last commit has restarted: a new generation.
  Step AfterCommit(int64_t log, Copied copied);
  // The writer ran the checkpoint AfterCommit asked for, at `log` frames.
  // One it could not start (the background's pass held the checkpoint) is
  // asked for again at the next commit.
  void Checkpointed(int64_t log);

  uint32_t generation() const { return generation_; }

 private:
  // The next try starts when the log is `log` frames long.
  void TryFrom(int64_t log);

  const Frames frames_;
  uint32_t generation_ = 0;
  int64_t last_log_ = 0;
  int64_t next_wake_;
  // The writer checkpoints from here on (when little is left to copy) ...
  int64_t next_try_ = 0;
  // ... and from here on whatever is left.
  int64_t forced_at_ = 0;
  // Trying since a commit that left this long a log; -1 when not trying.
  int64_t trying_from_ = -1;
};

}  // namespace hart::sqlite
