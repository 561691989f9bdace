// The health of every guarded push destination, for the status API and
// metrics: a registry of GuardedAdapters asked for snapshots on demand.
//
// Thread safety: all methods from any thread. A guard must be removed (or
// the board destroyed) before the guard is destroyed.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "broker/adapter_health.h"
#include "broker/dispatch/delivery_guard.h"

namespace hart {

class AdapterHealthBoard final : public AdapterHealthSource {
 public:
  // Registers `guard` under its agency id, replacing an earlier one.
  void Add(const GuardedAdapter& guard);
  void Remove(const std::string& agency_id);

  std::optional<AdapterHealth> HealthOf(const std::string& agency_id) const override;
  std::vector<AdapterHealth> AllHealth() const override;

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, const GuardedAdapter*> guards_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hart
