// A full disk under the real hart-broker: its data directory is a small
// tmpfs the test mounts (as root; CI runs as root), filled with a ballast
// file while intakes go on. The broker must answer with the cause named
// (RESOURCE_EXHAUSTED "the broker's storage is full", or UNAVAILABLE for an
// I/O error the full disk caused), report not ready, keep everything it
// acknowledged, and recover by itself once the ballast is gone. Where
// mounting is impossible the test skips, saying why; the fault VFS covers a
// full disk there (SQLITE_FULL from xWrite, sqlite_writer_failure_test and
// the second test below).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/match.h"
#include "tests/e2e/replica_cluster.h"
#include "tests/faults/storage_fault_harness.h"

namespace hart::testing {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;

constexpr char kFull[] = "the broker's storage is full";
constexpr char kNotDurable[] = "the broker's storage failed to save data durably";

// A size-limited tmpfs on `path` for the test's lifetime.
class SmallFilesystem {
 public:
  SmallFilesystem(const std::string& path, const std::string& size) : path_(path) {
    std::filesystem::create_directories(path_);
    const std::string options = "size=" + size + ",mode=0700";
    if (mount("hart-disk-full-test", path_.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      why_not_ = std::string("mount -t tmpfs failed: ") + std::strerror(errno) +
                 " (the test needs root or CAP_SYS_ADMIN)";
    }
  }
  ~SmallFilesystem() {
    if (why_not_.empty()) umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return why_not_.empty(); }
  const std::string& why_not() const { return why_not_; }

  // Fills what is left with a ballast file (bounded by the size).
  void Fill() {
    std::ofstream out(path_ + "/ballast", std::ios::binary);
    const std::string chunk(64 * 1024, '\0');
    for (int i = 0; i < 4096 && out.write(chunk.data(), chunk.size()); ++i) {
    }
    // The last partial chunk: byte by byte until the disk refuses.
    out.clear();
    for (int i = 0; i < 64 * 1024 && out.put('\0') && out.flush(); ++i) {
    }
  }
  void Empty() { std::filesystem::remove(path_ + "/ballast"); }

 private:
  std::string path_;
  std::string why_not_;
};

bool NamesTheStorage(const grpc::Status& status) {
  return absl::StrContains(status.error_message(), kFull) ||
         absl::StrContains(status.error_message(), kNotDurable);
}

TEST(DiskFullE2eTest, AFullDiskIsAClearErrorAndTheBrokerRecoversWhenRoomReturns) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  SmallFilesystem disk(data, "8m");
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a small filesystem here: " << disk.why_not();
  BrokerProcess broker(data);
  ASSERT_TRUE(broker.running());
  IntakeLedger ledger("CL-FULL");
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(ledger.Submit(broker).ok());

  disk.Fill();
  const size_t acknowledged_at_fill = ledger.acknowledged().size();
  // Intakes go on until the broker's log can grow no more (the first ones
  // may still fit in space its files already hold). Bounded.
  grpc::Status refused;
  ASSERT_TRUE(PollFor(
      [&] {
        refused = ledger.Submit(broker);
        return !refused.ok();
      },
      std::chrono::seconds(60), std::chrono::milliseconds(1)))
      << "the broker kept acknowledging on a full disk";
  EXPECT_THAT(refused.error_code(),
              AnyOf(grpc::StatusCode::RESOURCE_EXHAUSTED, grpc::StatusCode::UNAVAILABLE));
  EXPECT_TRUE(NamesTheStorage(refused)) << refused.error_message();
  EXPECT_THAT(refused.error_message(), ::testing::Not(HasSubstr(data)));
  ASSERT_TRUE(WaitForReadiness(broker, false));
  std::cout << "figures: tmpfs 8 MiB filled: "
            << ledger.acknowledged().size() - acknowledged_at_fill
            << " intakes still acknowledged (room the broker's files already held), then "
            << (refused.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED
                    ? "RESOURCE_EXHAUSTED"
                    : "UNAVAILABLE")
            << ": '" << refused.error_message() << "'\n";

  const auto emptied = std::chrono::steady_clock::now();
  disk.Empty();
  ASSERT_TRUE(WaitForReadiness(broker, true));
  std::cout << "figures: ready again " << SecondsSince(emptied)
            << " s after the ballast was removed\n";
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(ledger.Submit(broker).ok());
  broker.Terminate();
  ASSERT_TRUE(broker.Restart());
  ExpectEverythingAcknowledgedKept(broker, ledger, data);
}

// The same, without a mount: the fault VFS fills the disk (every write
// SQLITE_FULL) until the control file is removed.
TEST(DiskFullE2eTest, AFullDiskThroughTheFaultVfs) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  FaultControl faults(dir.path() + "/faults");
  BrokerProcess broker(data);
  ASSERT_TRUE(broker.running());
  IntakeLedger ledger("CL-VFSFULL");
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(ledger.Submit(broker).ok());
  faults.Set("write full\n");
  for (int i = 0; i < 3; ++i) {
    const grpc::Status status = ledger.Submit(broker);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(kFull));
  }
  ASSERT_TRUE(WaitForReadiness(broker, false));
  faults.Clear();
  ASSERT_TRUE(WaitForReadiness(broker, true));
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(ledger.Submit(broker).ok());
  broker.Kill();
  ASSERT_TRUE(broker.Restart());
  EXPECT_EQ(ledger.refused().size(), 3u);
  ExpectEverythingAcknowledgedKept(broker, ledger, data);
}

}  // namespace
}  // namespace hart::testing
