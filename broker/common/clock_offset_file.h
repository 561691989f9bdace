// The clock seam's file (broker/include/broker/clock.h, ClockOffset): an
// offset in milliseconds ("10800000", "-600000") in a file a test rewrites.
// Reading it must stay cheap on a clock every part asks all the time: the
// file is stat()ed at most once per `check_interval`, by whichever caller
// comes first, and read again only when its mtime or size changed; every
// other caller takes the cached value. A missing or unparsable file keeps
// the last good offset (a test writes it atomically by rename anyway).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/clock.h"

namespace hart {

inline constexpr char kClockOffsetFileEnv[] = "HART_TEST_CLOCK_OFFSET_FILE";

class FileClockOffset final : public ClockOffset {
 public:
  FileClockOffset(std::string path, absl::Duration check_interval);
  absl::Duration Get() const override;

 private:
  void RefreshLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  const int64_t check_interval_ns_;
  mutable std::atomic<int64_t> offset_ms_{0};
  mutable std::atomic<int64_t> next_check_ns_{0};  // steady clock (monotonic)
  mutable absl::Mutex mu_;                         // one refresher at a time
  mutable int64_t seen_mtime_ns_ ABSL_GUARDED_BY(mu_) = -1;
  mutable int64_t seen_size_ ABSL_GUARDED_BY(mu_) = -1;
};

// If HART_TEST_CLOCK_OFFSET_FILE is set: installs a FileClockOffset on it
// (checked every 20 ms) into SystemClock, logs a warning that the broker's
// clock is not the wall clock, and returns true. Call before any thread
// starts.
bool InstallClockOffsetFromEnvironment();

}  // namespace hart
