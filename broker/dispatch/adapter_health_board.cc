#include "broker/dispatch/adapter_health_board.h"

namespace hart {

void AdapterHealthBoard::Add(const GuardedAdapter& guard) {
  absl::MutexLock lock(&mu_);
  guards_[guard.agency_id()] = &guard;
}

void AdapterHealthBoard::Remove(const std::string& agency_id) {
  absl::MutexLock lock(&mu_);
  guards_.erase(agency_id);
}

std::optional<AdapterHealth> AdapterHealthBoard::HealthOf(const std::string& agency_id) const {
  absl::MutexLock lock(&mu_);
  auto it = guards_.find(agency_id);
  if (it == guards_.end()) return std::nullopt;
  return it->second->Health();
}

std::vector<AdapterHealth> AdapterHealthBoard::AllHealth() const {
  absl::MutexLock lock(&mu_);
  std::vector<AdapterHealth> all;
  all.reserve(guards_.size());
  for (const auto& [id, guard] : guards_) all.push_back(guard->Health());
  return all;
}

}  // namespace hart
