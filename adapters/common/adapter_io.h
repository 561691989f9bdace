// The event loop push adapters share: one Boost.Asio io_context run by a
// few threads. Sockets, TLS handshakes and timers of every push adapter
// live on it, so thousands of slow partners cost no threads. Work that
// blocks on a disk (file drop's fsynced writes and directory scans) goes to
// a second, small pool instead, so the loop never waits on a disk; store
// reads go to the broker's store executor (DeliveryContent::LoadAsync).
//
// Thread safety: context() and blocking() may be used from any thread. The
// destructor stops both and joins their threads; adapters must be gone
// first.
#pragma once

#include <memory>
#include <thread>
#include <vector>

#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"

namespace hart::adapters {

class AdapterIo {
 public:
  // `threads` run the event loop and as many run blocking file work; 0: a
  // loop nobody runs (for validating config only).
  explicit AdapterIo(unsigned threads = 2);
  ~AdapterIo();
  AdapterIo(const AdapterIo&) = delete;
  AdapterIo& operator=(const AdapterIo&) = delete;

  // The event loop: never block on it.
  boost::asio::io_context& context() { return context_; }
  // For work that blocks on the file system.
  boost::asio::io_context& blocking() { return blocking_; }

 private:
  using WorkGuard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;

  boost::asio::io_context context_;
  boost::asio::io_context blocking_;
  WorkGuard work_;
  WorkGuard blocking_work_;
  std::vector<std::thread> threads_;
};

}  // namespace hart::adapters
