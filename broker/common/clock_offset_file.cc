#include "broker/common/clock_offset_file.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "broker/common/logging.h"

namespace hart {
namespace {

// Monotonic, so the seam's own pacing does not depend on the time it bends.
int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

FileClockOffset::FileClockOffset(std::string path, absl::Duration check_interval)
    : path_(std::move(path)), check_interval_ns_(absl::ToInt64Nanoseconds(check_interval)) {
  absl::MutexLock lock(&mu_);
  RefreshLocked();
}

absl::Duration FileClockOffset::Get() const {
  const int64_t now = SteadyNanos();
  if (now >= next_check_ns_.load(std::memory_order_relaxed) && mu_.TryLock()) {
    // The others meanwhile take the cached value: none waits on the file.
    next_check_ns_.store(now + check_interval_ns_, std::memory_order_relaxed);
    RefreshLocked();
    mu_.Unlock();
  }
  return absl::Milliseconds(offset_ms_.load(std::memory_order_relaxed));
}

void FileClockOffset::RefreshLocked() const {
  struct stat info {};
  if (::stat(path_.c_str(), &info) != 0) return;
  const int64_t mtime_ns = static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000000 +
                           info.st_mtim.tv_nsec;
  if (mtime_ns == seen_mtime_ns_ && info.st_size == seen_size_) return;
  std::ifstream in(path_);
  std::stringstream text;
  text << in.rdbuf();
  int64_t ms = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text.str()), &ms)) return;
  seen_mtime_ns_ = mtime_ns;
  seen_size_ = info.st_size;
  const int64_t before = offset_ms_.exchange(ms, std::memory_order_relaxed);
  if (before != ms) {
    Logger("clock")->warn("event=test_clock_offset_changed offset_ms={} previous_ms={}", ms,
                          before);
  }
}

bool InstallClockOffsetFromEnvironment() {
  const char* path = std::getenv(kClockOffsetFileEnv);
  if (path == nullptr || *path == '\0') return false;
  // Leaked on purpose: SystemClocks anywhere may read it until exit.
  static const FileClockOffset* offset = new FileClockOffset(path, absl::Milliseconds(20));
  g_system_clock_offset.store(offset, std::memory_order_release);
  Logger("clock")->warn(
      "event=test_clock_offset_installed env={} note='TEST SEAM: the broker clock is the wall "
      "clock plus the offset in this file; never set this in production'",
      kClockOffsetFileEnv);
  return true;
}

}  // namespace hart
