#include "broker/adapter_registry.h"

#include "absl/strings/str_cat.h"

namespace hart {

absl::Status AdapterRegistry::Register(std::unique_ptr<AdapterFactory> factory) {
  std::string type(factory->type());
  if (type.empty()) return absl::InvalidArgumentError("adapter type name is empty");
  if (!factories_.emplace(type, std::move(factory)).second) {
    return absl::AlreadyExistsError(
        absl::StrCat("adapter type '", type, "' is already registered"));
  }
  return absl::OkStatus();
}

const AdapterFactory* AdapterRegistry::Find(std::string_view type) const {
  auto it = factories_.find(type);
  return it == factories_.end() ? nullptr : it->second.get();
}

std::vector<std::string> AdapterRegistry::Types() const {
  std::vector<std::string> types;
  for (const auto& [name, factory] : factories_) types.push_back(name);
  return types;
}

}  // namespace hart
