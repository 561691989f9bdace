#include "tests/bench/io_stalls.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hart::bench {
namespace {

using std::chrono::milliseconds;

constexpr char kPressure[] =
    "some avg10=1.50 avg60=0.20 avg300=0.05 total=987654\n"
    "full avg10=0.90 avg60=0.10 avg300=0.02 total=123456\n";

const BenchClock::time_point kT0 = BenchClock::time_point(std::chrono::seconds(1000));

BenchClock::time_point At(int ms) { return kT0 + milliseconds(ms); }

// Samples 5 ms apart from kT0, with the "full" count at each.
std::vector<IoPressureSample> Samples(const std::vector<int64_t>& full_us) {
  std::vector<IoPressureSample> samples;
  for (size_t i = 0; i < full_us.size(); ++i) {
    samples.push_back({At(static_cast<int>(i) * 5), full_us[i]});
  }
  return samples;
}

TEST(ParseIoPressureFullTest, ReadsTheFullLinesTotal) {
  auto full = ParseIoPressureFull(kPressure);
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(*full, 123456);
}

TEST(ParseIoPressureFullTest, RefusesTextWithoutAFullTotal) {
  for (const char* text : {"", "some avg10=0.00 avg60=0.00 avg300=0.00 total=5\n",
                           "full avg10=0.00 avg60=0.00 avg300=0.00\n",
                           "full avg10=0.00 avg60=0.00 avg300=0.00 total=x\n"}) {
    auto full = ParseIoPressureFull(text);
    ASSERT_FALSE(full.ok()) << text;
    EXPECT_EQ(full.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(full.status().message(), testing::HasSubstr("full ... total=N"));
  }
}

TEST(StallBetweenTest, SpreadsEachIntervalsGrowthEvenly) {
  // 5,000 µs counted between 5 and 10 ms: the machine stalled that whole time.
  const auto samples = Samples({0, 0, 5000, 5000});
  EXPECT_DOUBLE_EQ(StallBetween(samples, At(0), At(15)), 5000);
  EXPECT_DOUBLE_EQ(StallBetween(samples, At(5), At(10)), 5000);
  EXPECT_DOUBLE_EQ(StallBetween(samples, At(6), At(8)), 2000);
  EXPECT_DOUBLE_EQ(StallBetween(samples, At(0), At(5)), 0);
  EXPECT_DOUBLE_EQ(StallBetween(samples, At(10), At(15)), 0);
}

TEST(StallBetweenTest, CountsNothingOutsideTheSamplesOrForAnEmptySpan) {
  const auto samples = Samples({100, 600});
  EXPECT_DOUBLE_EQ(StallBetween(samples, At(-50), At(-10)), 0);
  EXPECT_DOUBLE_EQ(StallBetween(samples, At(20), At(90)), 0);
  EXPECT_DOUBLE_EQ(StallBetween(samples, At(-50), At(90)), 500);
  EXPECT_DOUBLE_EQ(StallBetween(samples, At(4), At(2)), 0);
  EXPECT_DOUBLE_EQ(StallBetween({}, At(0), At(5)), 0);
}

TEST(SummarizeIoStallsTest, TakesEachRequestsStallOffItsLatency) {
  // A 60 ms stall from 100 to 160 ms, the count flat otherwise.
  std::vector<int64_t> full_us;
  for (int ms = 0; ms <= 300; ms += 5) {
    full_us.push_back(ms <= 100 ? 0 : ms >= 160 ? 60000 : (ms - 100) * 1000);
  }
  const auto samples = Samples(full_us);
  const std::vector<Lifetime> requests = {
      {At(20), 2'000'000},   // before it: 2 ms, untouched
      {At(95), 70'000'000},  // through it: 70 ms, 60 of them the stall
      {At(150), 15'000'000}  // its last 10 ms: 15 ms, 10 of them the stall
  };
  const IoStallSummary s = SummarizeIoStalls(samples, At(0), At(300), requests);
  EXPECT_DOUBLE_EQ(s.full_stall_seconds, 0.06);
  EXPECT_DOUBLE_EQ(s.longest_stall_ms, 60);
  EXPECT_EQ(s.latency_less_stalls.count, 3u);
  EXPECT_DOUBLE_EQ(s.latency_less_stalls.max_ms, 10);  // 70 - 60
  EXPECT_DOUBLE_EQ(s.latency_less_stalls.p50_ms, 5);   // 15 - 10
}

TEST(SummarizeIoStallsTest, LongestLooksAtOneSpanNotTheWholeRun) {
  // Two 30 ms stalls 500 ms apart: 60 ms in all, at most 30 in any 100 ms.
  std::vector<int64_t> full_us;
  for (int ms = 0; ms <= 1000; ms += 5) {
    const int64_t first = ms <= 100 ? 0 : ms >= 130 ? 30000 : (ms - 100) * 1000;
    const int64_t second = ms <= 600 ? 0 : ms >= 630 ? 30000 : (ms - 600) * 1000;
    full_us.push_back(first + second);
  }
  const IoStallSummary s = SummarizeIoStalls(Samples(full_us), At(0), At(1000), {});
  EXPECT_DOUBLE_EQ(s.full_stall_seconds, 0.06);
  EXPECT_DOUBLE_EQ(s.longest_stall_ms, 30);
  EXPECT_EQ(s.latency_less_stalls.count, 0u);
}

TEST(SummarizeIoStallsTest, NeverTakesALatencyBelowZero) {
  // A sample stamped a little late counts more than its interval's length
  // (6 ms in 5): a request of 1 ms inside it gets 1.2 ms of it.
  const auto samples = Samples({0, 6000});
  const IoStallSummary s = SummarizeIoStalls(samples, At(0), At(5), {{At(1), 1'000'000}});
  EXPECT_DOUBLE_EQ(s.latency_less_stalls.max_ms, 0);
}

class IoPressureSamplerTest : public testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/tmp/io_pressure_XXXXXX";
    const int fd = mkstemp(name);
    ASSERT_GE(fd, 0);
    close(fd);
    path_ = name;
  }
  void TearDown() override { std::remove(path_.c_str()); }
  void Write(const std::string& text) { std::ofstream(path_) << text; }
  std::string path_;
};

TEST_F(IoPressureSamplerTest, SamplesTheFileUntilStopped) {
  Write(kPressure);
  auto sampler = IoPressureSampler::Start(path_, milliseconds(1));
  ASSERT_TRUE(sampler.ok()) << sampler.status();
  const auto samples = (*sampler)->Stop();
  ASSERT_FALSE(samples.empty());  // at least the one taken at Stop
  for (const auto& s : samples) EXPECT_EQ(s.full_us, 123456);
  EXPECT_TRUE(std::is_sorted(samples.begin(), samples.end(),
                             [](const auto& a, const auto& b) { return a.at < b.at; }));
}

TEST_F(IoPressureSamplerTest, RefusesAFileItCannotReadOrParse) {
  auto missing = IoPressureSampler::Start(path_ + ".missing", milliseconds(5));
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), testing::HasSubstr("cannot read"));
  Write("some avg10=0.00 avg60=0.00 avg300=0.00 total=5\n");
  auto unparsed = IoPressureSampler::Start(path_, milliseconds(5));
  ASSERT_FALSE(unparsed.ok());
  EXPECT_THAT(unparsed.status().message(), testing::HasSubstr("full ... total=N"));
}

}  // namespace
}  // namespace hart::bench
