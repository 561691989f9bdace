// Told about each group commit of the writer queue (write_queue.h), for
// metrics: how many items it held, how long the store took to commit it
// (fsync included), and whether it committed. Called on the writer thread,
// after the store answered and before anyone else is told; must be quick
// and must not call into the queue.
#pragma once

#include <cstddef>

#include "absl/time/time.h"

namespace hart {

class WriteQueueObserver {
 public:
  virtual ~WriteQueueObserver() = default;
  virtual void OnBatchWritten(size_t items, absl::Duration took, bool committed) = 0;
};

}  // namespace hart
