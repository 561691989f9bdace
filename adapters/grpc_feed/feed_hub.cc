#include "adapters/grpc_feed/feed_hub.h"

namespace hart::grpc_feed {

FeedHub::Token FeedHub::Listen(const std::string& agency_id, Listener listener) {
  absl::MutexLock lock(&mu_);
  const Token token = next_token_++;
  listeners_.emplace(token, std::make_pair(agency_id, std::move(listener)));
  return token;
}

void FeedHub::Unlisten(Token token) {
  absl::MutexLock lock(&mu_);
  listeners_.erase(token);
}

void FeedHub::Publish(const std::string& agency_id, uint64_t head) {
  absl::MutexLock lock(&mu_);
  for (auto& [token, entry] : listeners_) {
    if (entry.first == agency_id) entry.second(head);
  }
}

size_t FeedHub::ListenerCount() const {
  absl::MutexLock lock(&mu_);
  return listeners_.size();
}

}  // namespace hart::grpc_feed
