// BufferedRandom (broker/common/buffered_random.h): the source's bytes,
// unchanged and in order, a block per source call; none handed out twice,
// also across threads.
#include "broker/common/buffered_random.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace hart {
namespace {

// Bytes 0, 1, 2, ... across calls; counts the calls.
class CountingSource final : public RandomSource {
 public:
  std::string Bytes(size_t n) override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    std::string out;
    for (size_t i = 0; i < n; ++i) out += static_cast<char>(next_++);
    return out;
  }
  uint64_t Uniform(uint64_t bound) override { return bound - 1; }
  int calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  absl::Mutex mu_;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  uint8_t next_ ABSL_GUARDED_BY(mu_) = 0;
};

std::string Consecutive(uint8_t first, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += static_cast<char>(first + i);
  return out;
}

TEST(BufferedRandomTest, HandsOutTheSourcesBytesInOrderABlockPerCall) {
  CountingSource source;
  BufferedRandom random(source, 16);
  EXPECT_EQ(random.Bytes(7), Consecutive(0, 7));
  EXPECT_EQ(random.Bytes(7), Consecutive(7, 7));
  EXPECT_EQ(source.calls(), 1);
  // Two bytes are left: too few, so a new block (the two are never used).
  EXPECT_EQ(random.Bytes(7), Consecutive(16, 7));
  EXPECT_EQ(source.calls(), 2);
  // Larger than a block: straight from the source, the block untouched.
  EXPECT_EQ(random.Bytes(20), Consecutive(32, 20));
  EXPECT_EQ(random.Bytes(9), Consecutive(23, 9));
  EXPECT_EQ(source.calls(), 3);
  EXPECT_EQ(random.Uniform(10), 9u);
}

TEST(BufferedRandomTest, NoBytesAreHandedOutTwiceAcrossThreads) {
  // Each 8-byte draw is one big-endian counter value of the source's.
  class CounterSource final : public RandomSource {
   public:
    std::string Bytes(size_t n) override {
      absl::MutexLock lock(&mu_);
      std::string out;
      for (size_t i = 0; i < n / 8; ++i, ++next_) {
        for (int b = 7; b >= 0; --b) out += static_cast<char>((next_ >> (8 * b)) & 0xff);
      }
      return out;
    }
    uint64_t Uniform(uint64_t) override { return 0; }

   private:
    absl::Mutex mu_;
    uint64_t next_ ABSL_GUARDED_BY(mu_) = 0;
  } source;
  BufferedRandom random(source, 64);
  constexpr int kThreads = 4, kDraws = 2000;
  std::vector<std::vector<std::string>> drawn(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kDraws; ++i) drawn[t].push_back(random.Bytes(8));
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> distinct;
  for (const auto& mine : drawn) distinct.insert(mine.begin(), mine.end());
  EXPECT_EQ(distinct.size(), size_t{kThreads * kDraws});
}

}  // namespace
}  // namespace hart
