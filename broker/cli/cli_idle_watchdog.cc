#include "broker/cli/cli_idle_watchdog.h"

namespace hart::cli {

IdleWatchdog::IdleWatchdog(grpc::ClientContext& context, std::chrono::milliseconds limit)
    : context_(context), limit_(limit), last_activity_(std::chrono::steady_clock::now()) {
  if (limit_.count() > 0) thread_ = std::thread([this] { Run(); });
}

IdleWatchdog::~IdleWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void IdleWatchdog::Touch() {
  std::lock_guard<std::mutex> lock(mu_);
  last_activity_ = std::chrono::steady_clock::now();
}

bool IdleWatchdog::Fired() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fired_;
}

void IdleWatchdog::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    const auto deadline = last_activity_ + limit_;
    if (std::chrono::steady_clock::now() >= deadline) {
      fired_ = true;
      lock.unlock();
      context_.TryCancel();
      return;
    }
    // Touch() only moves the deadline later, so waking at the old one and
    // re-checking is enough; no notification needed.
    wake_.wait_until(lock, deadline, [this] { return stopping_; });
  }
}

}  // namespace hart::cli
