// Runs a callback at a given time: the seam for timers that are not tied to
// a socket (e.g. the delivery guard's watchdogs). Production uses
// ThreadScheduler (broker/common/thread_scheduler.h); tests use
// ManualScheduler (tests/support/manual_scheduler.h) and run what is due
// when they say so.
//
// Thread safety: RunAt and Cancel may be called from any thread, including
// from inside a running callback. Implementations run callbacks without
// holding their own locks. A scheduler must outlive everything that
// scheduled callbacks on it.
#pragma once

#include <cstdint>
#include <functional>

#include "absl/time/time.h"

namespace hart {

class Scheduler {
 public:
  virtual ~Scheduler() = default;

  // Schedules `fn` to run once at `when` (at once if `when` has passed).
  // Returns an id for Cancel; never 0.
  virtual uint64_t RunAt(absl::Time when, std::function<void()> fn) = 0;

  // True if the callback will not run (it was still pending and is now
  // dropped); false if it is running, has run or is unknown.
  virtual bool Cancel(uint64_t id) = 0;
};

}  // namespace hart
