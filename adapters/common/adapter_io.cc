#include "adapters/common/adapter_io.h"

namespace hart::adapters {

AdapterIo::AdapterIo(unsigned threads) : work_(boost::asio::make_work_guard(context_)) {
  for (unsigned i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { context_.run(); });
  }
}

AdapterIo::~AdapterIo() {
  work_.reset();
  context_.stop();
  for (auto& t : threads_) t.join();
}

}  // namespace hart::adapters
