// Counts the operations an object has started on other threads so its
// destructor can refuse new ones and wait for the running ones: nothing
// calls into the object once it is gone.
//
// Thread safety: all methods may be called from any thread. Wait must not
// be called from a thread an operation needs to finish.
#pragma once

#include <condition_variable>
#include <mutex>

namespace hart::adapters::file_drop {

class InFlightGate {
 public:
  // False once closed: the operation must not start.
  bool Enter() {
    std::lock_guard lock(mu_);
    if (closed_) return false;
    ++count_;
    return true;
  }
  // The operation is done and touches the object no more.
  void Leave() {
    std::lock_guard lock(mu_);
    // Notify under the lock: the waiter may destroy the gate once it has it.
    if (--count_ == 0) done_.notify_all();
  }
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  // Blocks until every entered operation has left.
  void Wait() {
    std::unique_lock lock(mu_);
    done_.wait(lock, [this] { return count_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable done_;
  int count_ = 0;
  bool closed_ = false;
};

}  // namespace hart::adapters::file_drop
