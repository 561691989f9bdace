#include "broker/feed/feed_appender.h"

#include <span>
#include <vector>

namespace hart::feed {

FeedAppender::FeedAppender(Store& store, const Clock& clock, FeedHub& hub, size_t max_batch)
    : writer_(
          [&store, &clock](std::span<const FeedAppend> batch) {
            const absl::Time now = clock.Now();
            std::vector<FeedAppend> stamped(batch.begin(), batch.end());
            for (auto& a : stamped) a.audit.at = now;
            return store.AppendToFeeds(stamped, now);
          },
          max_batch,
          [&hub](std::span<const FeedAppendResult> results) { PublishHeads(hub, results); }) {}

void FeedAppender::Append(FeedAppend append,
                          std::function<void(absl::StatusOr<FeedAppendResult>)> done) {
  writer_.Submit(std::move(append), std::move(done));
}

}  // namespace hart::feed
