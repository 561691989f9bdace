// Puts claimed deliveries on their agencies' feeds: appends from every
// agency queue here and are group-committed, one store transaction per
// batch (the next per-agency sequence, the delivery's transport_ref and its
// audit event together), then each agency's subscribers are woken once.
// The grpc_feed adapter sends through it; the intake's own transaction
// appends without it (FeedPlacement).
//
// Thread safety: Append may be called from any thread; `done` runs on the
// writer thread and must not block for long.
#pragma once

#include <cstddef>
#include <functional>

#include "absl/status/statusor.h"
#include "broker/clock.h"
#include "broker/feed/feed_hub.h"
#include "broker/records.h"
#include "broker/store.h"
#include "broker/store/batch_writer.h"

namespace hart::feed {

class FeedAppender {
 public:
  // `store`, `clock` and `hub` must outlive the appender.
  FeedAppender(Store& store, const Clock& clock, FeedHub& hub, size_t max_batch = 256);
  // The audit event's time is set when its batch commits.
  void Append(FeedAppend append, std::function<void(absl::StatusOr<FeedAppendResult>)> done);

 private:
  BatchWriter<FeedAppend, FeedAppendResult> writer_;
};

}  // namespace hart::feed
