#include "broker/common/topic_hub.h"

namespace hart {

TopicHub::Token TopicHub::Listen(const std::string& topic, Listener listener) {
  absl::MutexLock lock(&mu_);
  const Token token = next_token_++;
  listeners_.emplace(token, std::make_pair(topic, std::move(listener)));
  return token;
}

void TopicHub::Unlisten(Token token) {
  absl::MutexLock lock(&mu_);
  listeners_.erase(token);
}

void TopicHub::Publish(const std::string& topic, uint64_t head) {
  absl::MutexLock lock(&mu_);
  for (auto& [token, entry] : listeners_) {
    if (entry.first == topic) entry.second(head);
  }
}

size_t TopicHub::ListenerCount() const {
  absl::MutexLock lock(&mu_);
  return listeners_.size();
}

std::map<std::string, size_t> TopicHub::ListenersPerTopic() const {
  absl::MutexLock lock(&mu_);
  std::map<std::string, size_t> counts;
  for (const auto& [token, entry] : listeners_) ++counts[entry.first];
  return counts;
}

}  // namespace hart
