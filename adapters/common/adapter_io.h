// The event loop push adapters share: one Boost.Asio io_context run by a
// few threads. Sockets, TLS handshakes and timers of every push adapter
// live on it, so thousands of slow partners cost no threads.
//
// Thread safety: context() may be used from any thread. The destructor
// stops the loop and joins its threads; adapters must be gone first.
#pragma once

#include <memory>
#include <thread>
#include <vector>

#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"

namespace hart::adapters {

class AdapterIo {
 public:
  // `threads` 0: a loop nobody runs (for validating config only).
  explicit AdapterIo(unsigned threads = 2);
  ~AdapterIo();
  AdapterIo(const AdapterIo&) = delete;
  AdapterIo& operator=(const AdapterIo&) = delete;

  boost::asio::io_context& context() { return context_; }

 private:
  boost::asio::io_context context_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

}  // namespace hart::adapters
