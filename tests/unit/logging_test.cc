// Logger(module): one logger per module, however many threads ask for a new
// one at the same moment (spdlog throws if a name is registered twice, and an
// uncaught throw ends the broker).
#include "broker/common/logging.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace hart {
namespace {

TEST(LoggingTest, ThreadsAskingForANewModuleAtOnceShareOneLogger) {
  constexpr int kThreads = 16;
  constexpr int kModules = 50;
  std::atomic<int> ready{0};
  std::vector<std::vector<spdlog::logger*>> seen(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ++ready;
      while (ready < kThreads) std::this_thread::yield();  // start together
      for (int m = 0; m < kModules; ++m) {
        seen[t].push_back(Logger("logging-test-" + std::to_string(m)).get());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int m = 0; m < kModules; ++m) {
    std::set<spdlog::logger*> loggers;
    for (int t = 0; t < kThreads; ++t) loggers.insert(seen[t][m]);
    EXPECT_EQ(loggers.size(), 1u) << "module " << m;
  }
}

}  // namespace
}  // namespace hart
