// A member that runs a stop function when it is destroyed. Placed among a
// composition root's members, it makes declaration order alone say when a
// part stops (drains, refuses new work) while the members declared before
// it still live: members are destroyed in reverse order of declaration, so
// the destruction order is the shutdown order.
#pragma once

#include <functional>
#include <utility>

namespace hart {

class ShutdownStep {
 public:
  explicit ShutdownStep(std::function<void()> stop) : stop_(std::move(stop)) {}
  ~ShutdownStep() {
    if (stop_) stop_();
  }
  ShutdownStep(const ShutdownStep&) = delete;
  ShutdownStep& operator=(const ShutdownStep&) = delete;

 private:
  std::function<void()> stop_;
};

}  // namespace hart
