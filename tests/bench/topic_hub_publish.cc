// hart-topic-hub-bench: what one wake-up costs the thread that announces a
// commit when many feed streams are open, one per agency (the national
// case of target 6): N idle listeners on topics of their own, six active
// topics published in turn. Prints microseconds per publish.
// Usage: hart-topic-hub-bench [idle_listeners=20000] [publishes=12000]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "broker/common/topic_hub.h"

int main(int argc, char** argv) {
  const int idle = argc > 1 ? std::atoi(argv[1]) : 20000;
  const int publishes = argc > 2 ? std::atoi(argv[2]) : 12000;
  constexpr int kActive = 6;
  hart::TopicHub hub;
  for (int i = 0; i < idle; ++i) hub.Listen("idle-" + std::to_string(i), [](uint64_t) {});
  uint64_t heard = 0;
  for (int a = 0; a < kActive; ++a) {
    hub.Listen("active-" + std::to_string(a), [&heard](uint64_t) { ++heard; });
  }
  const auto start = std::chrono::steady_clock::now();
  for (int p = 0; p < publishes; ++p) {
    hub.Publish("active-" + std::to_string(p % kActive), static_cast<uint64_t>(p));
  }
  const std::chrono::duration<double, std::micro> took = std::chrono::steady_clock::now() - start;
  std::printf("%d idle listeners, %d publishes: %.2f us per publish (%llu heard)\n", idle,
              publishes, took.count() / publishes, static_cast<unsigned long long>(heard));
  return heard == static_cast<uint64_t>(publishes) ? 0 : 1;
}
