// The clock seam of the fault tests (broker/common/clock_offset_file.h): the
// offset a test writes is what SystemClock adds, re-read when the file
// changes, and a bad file never moves the clock.
#include "broker/common/clock_offset_file.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "tests/support/test_support.h"

namespace hart {
namespace {

// Written to a temporary name and renamed, as the fault runner does.
void WriteOffset(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp) << text;
  ASSERT_EQ(std::rename(tmp.c_str(), path.c_str()), 0);
}

TEST(FileClockOffset, ReadsTheOffsetAndFollowsChanges) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/offset";
  FileClockOffset none(path, absl::ZeroDuration());
  EXPECT_EQ(none.Get(), absl::ZeroDuration());  // no file yet: no offset
  WriteOffset(path, "10800000\n");
  EXPECT_EQ(none.Get(), absl::Hours(3));
  WriteOffset(path, "10200000");  // back by ten minutes
  EXPECT_EQ(none.Get(), absl::Hours(3) - absl::Minutes(10));
  WriteOffset(path, "-600000");
  EXPECT_EQ(none.Get(), -absl::Minutes(10));
}

TEST(FileClockOffset, AnUnparsableFileKeepsTheLastGoodOffset) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/offset";
  WriteOffset(path, "5000");
  FileClockOffset offset(path, absl::ZeroDuration());
  EXPECT_EQ(offset.Get(), absl::Seconds(5));
  WriteOffset(path, "five hours");
  EXPECT_EQ(offset.Get(), absl::Seconds(5));
  std::remove(path.c_str());
  EXPECT_EQ(offset.Get(), absl::Seconds(5));
}

TEST(FileClockOffset, IsReadAtMostOncePerInterval) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/offset";
  WriteOffset(path, "1000");
  FileClockOffset offset(path, absl::Hours(1));
  EXPECT_EQ(offset.Get(), absl::Seconds(1));  // the first Get() checks
  WriteOffset(path, "2000");
  EXPECT_EQ(offset.Get(), absl::Seconds(1));  // the next check is an hour away
}

TEST(SystemClock, AddsTheInstalledOffset) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/offset";
  WriteOffset(path, "7200000");
  static FileClockOffset* offset = new FileClockOffset(path, absl::ZeroDuration());
  SystemClock clock;
  const absl::Time before = absl::Now();
  g_system_clock_offset.store(offset);
  const absl::Time stepped = clock.Now();
  g_system_clock_offset.store(nullptr);
  EXPECT_GE(stepped, before + absl::Hours(2));
  EXPECT_LT(stepped, absl::Now() + absl::Hours(2) + absl::Seconds(1));
  EXPECT_LT(clock.Now(), before + absl::Hours(1));
}

}  // namespace
}  // namespace hart
