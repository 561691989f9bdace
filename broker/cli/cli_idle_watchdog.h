// Cancels a streaming call when nothing interesting arrived for a while:
// a background thread calls ClientContext::TryCancel once the time since the
// last Touch() exceeds the limit.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "grpcpp/client_context.h"

namespace hart::cli {

class IdleWatchdog {
 public:
  // Starts watching `context` (which must outlive this object). A zero or
  // negative `limit` disables the watchdog.
  IdleWatchdog(grpc::ClientContext& context, std::chrono::milliseconds limit);
  ~IdleWatchdog();  // stops the thread

  IdleWatchdog(const IdleWatchdog&) = delete;
  IdleWatchdog& operator=(const IdleWatchdog&) = delete;

  // Something arrived: restart the idle period.
  void Touch();

  // True once the watchdog cancelled the call.
  bool Fired() const;

 private:
  void Run();

  grpc::ClientContext& context_;
  const std::chrono::milliseconds limit_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::chrono::steady_clock::time_point last_activity_;
  bool stopping_ = false;
  bool fired_ = false;
  std::thread thread_;  // last: starts after every other member is ready
};

}  // namespace hart::cli
