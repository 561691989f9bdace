// The broker's one seam for time. Everything that waits or stamps a time
// (deadlines, backoff, leases, heartbeats, audit timestamps) asks a Clock, so
// tests drive time with ManualClock instead of sleeping.
//
// Thread safety: implementations are safe to call from any thread.
#pragma once

#include <atomic>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace hart {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// A test seam for the real binary: an offset SystemClock adds to the wall
// clock, so a fault test can step the broker's time (hours forward, minutes
// back) as NTP or an operator would, without root. Production never installs
// one (main.cc does only when HART_TEST_CLOCK_OFFSET_FILE is set, and logs a
// warning): then SystemClock costs one relaxed atomic load more.
class ClockOffset {
 public:
  virtual ~ClockOffset() = default;
  virtual absl::Duration Get() const = 0;
};

// Installed once, before the broker starts its threads, and never removed
// (it must outlive every SystemClock).
inline std::atomic<const ClockOffset*> g_system_clock_offset{nullptr};

// Wall-clock time (plus the test offset, if one is installed).
class SystemClock final : public Clock {
 public:
  absl::Time Now() const override {
    const ClockOffset* offset = g_system_clock_offset.load(std::memory_order_acquire);
    return offset == nullptr ? absl::Now() : absl::Now() + offset->Get();
  }
};

// Time that moves only when a test says so.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(absl::Time start) : now_(start) {}
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }
  void Set(absl::Time t) {
    absl::MutexLock lock(&mu_);
    now_ = t;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hart
