// Bounds on a config's YAML tree, checked before anything else walks it.
// YAML aliases let a few hundred bytes name a billion values (each `*name`
// repeats its anchor's whole subtree), and the mapping, the source map and
// the validation all walk the tree with aliases expanded: unchecked, such a
// file holds `--check-config` or a starting broker for minutes and gigabytes.
#pragma once

#include <cstddef>

#include "absl/status/status.h"
#include "yaml-cpp/yaml.h"

namespace hart {

struct YamlTreeLimits {
  // Connecticut's config is about 7,000 values, 7 levels deep, and its key
  // paths ("rules[0].destinations[1].agency") add up to about 80 KiB.
  size_t max_values = 100'000;
  int max_depth = 64;
  // Problems name values by key path, so the source map keeps every one:
  // aliases of long keys could otherwise make them add up to gigabytes.
  size_t max_key_path_bytes = 16 << 20;
};

// OK, or INVALID_ARGUMENT "line:column: ..." (1-based) saying which bound
// the tree exceeds and where. Counts keys, values and list items, with
// aliases expanded, and the lengths of their key paths as
// ConfigSourceMap writes them; stops at the first bound exceeded.
absl::Status CheckYamlTreeBounds(const YAML::Node& root, const YamlTreeLimits& limits = {});

}  // namespace hart
