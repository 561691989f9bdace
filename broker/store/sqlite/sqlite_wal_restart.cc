#include "broker/store/sqlite/sqlite_wal_restart.h"

namespace hart::sqlite {

WalRestartPlanner::WalRestartPlanner(Frames frames)
    : frames_(frames), next_wake_(frames.wake_every) {
  TryFrom(frames.restart_at);
}

void WalRestartPlanner::TryFrom(int64_t log) {
  next_try_ = log;
  forced_at_ = log + frames_.patience;
  trying_from_ = -1;
}

WalRestartPlanner::Step WalRestartPlanner::AfterCommit(int64_t log, Copied copied) {
  if (log < last_log_) {
    ++generation_;
    next_wake_ = frames_.wake_every;
    TryFrom(frames_.restart_at);
  }
  last_log_ = log;
  Step step;
  if (log >= next_wake_) {
    next_wake_ = log + frames_.wake_every;
    step.wake_checkpointer = true;
  }
  if (log < next_try_) return step;
  if (trying_from_ < 0) {
    // A pass that starts from now on copies at least this far.
    trying_from_ = log;
    step.wake_checkpointer = true;
    return step;
  }
  // A pass over an earlier log, or none yet over this one: all of it is left.
  const bool current = copied.generation == generation_ && copied.frames <= log;
  const int64_t left = current ? log - copied.frames : log;
  const bool caught_up = current && copied.frames >= trying_from_;
  if (log >= forced_at_) {
    step.checkpoint = step.wait_for_background = true;
  } else if (caught_up || left <= frames_.remainder) {
    step.checkpoint = true;
  }
  if (step.checkpoint) step.wake_checkpointer = false;
  return step;
}

void WalRestartPlanner::Checkpointed(int64_t log) { TryFrom(log + frames_.retry); }

}  // namespace hart::sqlite
