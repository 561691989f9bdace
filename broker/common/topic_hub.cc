#include "broker/common/topic_hub.h"

namespace hart {

TopicHub::Token TopicHub::Listen(const std::string& topic, Listener listener) {
  absl::MutexLock lock(&mu_);
  const Token token = next_token_++;
  by_topic_[topic].emplace(token, std::move(listener));
  topic_of_.emplace(token, topic);
  return token;
}

void TopicHub::Unlisten(Token token) {
  absl::MutexLock lock(&mu_);
  auto topic = topic_of_.find(token);
  if (topic == topic_of_.end()) return;
  auto listeners = by_topic_.find(topic->second);
  listeners->second.erase(token);
  if (listeners->second.empty()) by_topic_.erase(listeners);
  topic_of_.erase(topic);
}

void TopicHub::Publish(const std::string& topic, uint64_t head) {
  absl::MutexLock lock(&mu_);
  auto listeners = by_topic_.find(topic);
  if (listeners == by_topic_.end()) return;
  for (auto& [token, listener] : listeners->second) listener(head);
}

size_t TopicHub::ListenerCount() const {
  absl::MutexLock lock(&mu_);
  return topic_of_.size();
}

std::map<std::string, size_t> TopicHub::ListenersPerTopic() const {
  absl::MutexLock lock(&mu_);
  std::map<std::string, size_t> counts;
  for (const auto& [topic, listeners] : by_topic_) counts.emplace(topic, listeners.size());
  return counts;
}

}  // namespace hart
