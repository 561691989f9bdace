// Which handler answers a request on the operations port: registered by
// method and path, exactly or by prefix. Components register their handlers
// before the server starts (OpsServer::Start takes the router); it is not
// changed while serving.
//
// Thread safety: Handle before serving, from one thread; Find from any.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "broker/ops/ops_http.h"

namespace hart::ops {

enum class PathMatch {
  kExact,   // the path only
  kPrefix,  // every path that starts with it, e.g. "/dashboard/"
};

class Router {
 public:
  // Registers `handler` for `method` ("GET", "POST", ...) on `path`. An
  // exact match wins over a prefix, a longer prefix over a shorter.
  // INVALID_ARGUMENT if `path` does not start with '/', ALREADY_EXISTS if
  // the same method, path and match are registered already.
  absl::Status Handle(const std::string& method, const std::string& path, PathMatch match,
                      Handler handler);

  struct Found {
    const Handler* handler = nullptr;  // null: see allowed
    // When no handler matches the method but the path is served: the
    // methods it is served with (for 405 and Allow); empty: not found.
    std::vector<std::string> allowed;
  };
  Found Find(const std::string& method, const std::string& path) const;

 private:
  using Key = std::pair<std::string, PathMatch>;  // path, match
  // Path and match -> method -> handler.
  std::map<Key, std::map<std::string, Handler>> routes_;
};

}  // namespace hart::ops
