// Puts claimed deliveries on their agencies' feeds through the writer
// queue: appends share its group commits with every other write (the next
// per-agency sequence, the delivery's transport_ref and its audit event in
// one transaction), and the queue's after-commit hook wakes each agency's
// subscribers once per batch (PublishHeads). The grpc_feed adapter sends
// through it; the intake's own transaction appends without it
// (FeedPlacement).
//
// Thread safety: Append may be called from any thread; `done` runs on the
// writer queue's answering thread and must not block for long.
#pragma once

#include <functional>

#include "absl/status/statusor.h"
#include "broker/clock.h"
#include "broker/records.h"
#include "broker/store/write_queue.h"

namespace hart::feed {

class FeedAppender {
 public:
  // `writes` and `clock` must outlive the appender.
  FeedAppender(WriteQueue& writes, const Clock& clock) : writes_(writes), clock_(clock) {}
  // The append and its audit event are stamped now.
  void Append(FeedAppend append, std::function<void(absl::StatusOr<FeedAppendResult>)> done);

 private:
  WriteQueue& writes_;
  const Clock& clock_;
};

}  // namespace hart::feed
