#include "adapters/common/adapter_io.h"

namespace hart::adapters {

AdapterIo::AdapterIo(unsigned threads)
    : work_(boost::asio::make_work_guard(context_)),
      blocking_work_(boost::asio::make_work_guard(blocking_)) {
  for (unsigned i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { context_.run(); });
    threads_.emplace_back([this] { blocking_.run(); });
  }
}

AdapterIo::~AdapterIo() {
  work_.reset();
  blocking_work_.reset();
  context_.stop();
  blocking_.stop();
  for (auto& t : threads_) t.join();
}

}  // namespace hart::adapters
