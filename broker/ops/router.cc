#include "broker/ops/router.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace hart::ops {

absl::Status Router::Handle(const std::string& method, const std::string& path,
                            PathMatch match, Handler handler) {
  if (path.empty() || path.front() != '/') {
    return absl::InvalidArgumentError(absl::StrCat("ops route '", path, "' must start with '/'"));
  }
  auto& by_method = routes_[{path, match}];
  if (!by_method.emplace(method, std::move(handler)).second) {
    return absl::AlreadyExistsError(
        absl::StrCat("ops route ", method, " ", path, " is registered twice"));
  }
  return absl::OkStatus();
}

Router::Found Router::Find(const std::string& method, const std::string& path) const {
  // The exact route, else the longest prefix route, that serves the path.
  const std::map<std::string, Handler>* best = nullptr;
  if (auto exact = routes_.find({path, PathMatch::kExact}); exact != routes_.end()) {
    best = &exact->second;
  } else {
    size_t longest = 0;
    for (const auto& [key, by_method] : routes_) {
      const auto& [prefix, match] = key;
      if (match == PathMatch::kPrefix && prefix.size() >= longest &&
          absl::StartsWith(path, prefix)) {
        best = &by_method;
        longest = prefix.size();
      }
    }
  }
  Found found;
  if (best == nullptr) return found;
  if (auto it = best->find(method); it != best->end()) {
    found.handler = &it->second;
    return found;
  }
  for (const auto& entry : *best) found.allowed.push_back(entry.first);
  return found;
}

}  // namespace hart::ops
