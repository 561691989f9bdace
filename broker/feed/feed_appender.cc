#include "broker/feed/feed_appender.h"

namespace hart::feed {

void FeedAppender::Append(FeedAppend append,
                          std::function<void(absl::StatusOr<FeedAppendResult>)> done) {
  const absl::Time now = clock_.Now();
  append.audit.at = now;
  writes_.AppendToFeed(std::move(append), now, std::move(done));
}

}  // namespace hart::feed
