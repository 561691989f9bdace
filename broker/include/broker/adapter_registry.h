// Adapters by name, with typed config. Each adapter type registers one
// factory; the composition root calls RegisterBuiltinAdapters(registry)
// explicitly (no static-initialisation magic).
//
// Thread safety: register everything before use; lookups are then const.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/adapter.h"
#include "google/protobuf/struct.pb.h"

namespace hart {

class Store;
class Clock;
class DeliveryContent;
class AckSink;

// What an adapter may use from the broker. Pointers outlive every adapter;
// any may be null in tools that only validate config.
struct AdapterContext {
  Store* store = nullptr;
  const Clock* clock = nullptr;
  // The message each delivery carries (the agency's view, ack token).
  const DeliveryContent* content = nullptr;
  // Where adapters that receive acknowledgements (file drop) record them.
  AckSink* acks = nullptr;
  // Push adapters: how long one call to the partner may take (the agency's
  // DeliveryLimits.timeout).
  absl::Duration timeout = absl::Seconds(30);
};

// Builds adapters of one type for one agency each.
class AdapterFactory {
 public:
  virtual ~AdapterFactory() = default;
  virtual std::string_view type() const = 0;
  // Parses and checks the adapter's settings without building anything;
  // the error names the offending setting.
  virtual absl::Status ValidateSettings(
      const google::protobuf::Struct& settings) const = 0;
  // True when the adapter's transport is the broker's own store (a feed
  // partners read): new deliveries can then be put on it in the very
  // transaction that creates them, skipping the dispatcher. Default: false.
  virtual bool feeds_from_store() const { return false; }
  virtual absl::StatusOr<std::unique_ptr<Adapter>> Create(
      const std::string& agency_id, const google::protobuf::Struct& settings,
      const AdapterContext& context) const = 0;
};

class AdapterRegistry {
 public:
  // ALREADY_EXISTS if the type name is taken.
  absl::Status Register(std::unique_ptr<AdapterFactory> factory);
  // nullptr if unknown.
  const AdapterFactory* Find(std::string_view type) const;
  std::vector<std::string> Types() const;

 private:
  std::map<std::string, std::unique_ptr<AdapterFactory>, std::less<>> factories_;
};

}  // namespace hart
