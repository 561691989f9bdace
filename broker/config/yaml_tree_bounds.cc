#include "broker/config/yaml_tree_bounds.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace hart {
namespace {

std::string PlaceOf(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return absl::StrCat(mark.line + 1, ":", mark.column + 1);
}

// Of "[i]".
size_t IndexBytes(size_t i) {
  size_t digits = 1;
  for (; i >= 10; i /= 10) ++digits;
  return digits + 2;
}

}  // namespace

absl::Status CheckYamlTreeBounds(const YAML::Node& root, const YamlTreeLimits& limits) {
  struct Pending {
    YAML::Node node;
    int depth = 0;
    size_t path_bytes = 0;  // of its key path: "a.b[12]" is 7
  };
  // Iterative: a recursive walk is what a deep tree would overflow.
  std::vector<Pending> pending;
  pending.push_back({root, 0, 0});
  size_t values = 0;
  size_t path_bytes = 0;
  while (!pending.empty()) {
    Pending next = std::move(pending.back());
    pending.pop_back();
    const YAML::Node& node = next.node;
    path_bytes += next.path_bytes;
    if (++values > limits.max_values) {
      return absl::InvalidArgumentError(absl::StrCat(
          PlaceOf(node), ": the file holds more than ", limits.max_values,
          " keys, values and list items, counting each alias (*name) as a copy of its "
          "anchor's subtree; a broker config needs far fewer (Connecticut's has about "
          "7,000): check for aliases that repeat large or nested subtrees"));
    }
    if (path_bytes > limits.max_key_path_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          PlaceOf(node), ": the key paths of the file's values (such as "
          "rules[0].destinations[1].agency) add up to more than ", limits.max_key_path_bytes,
          " characters, counting each alias (*name) as a copy of its anchor's subtree: "
          "check for very long keys, or aliases that repeat them"));
    }
    if (next.depth > limits.max_depth) {
      return absl::InvalidArgumentError(
          absl::StrCat(PlaceOf(node), ": nested more than ", limits.max_depth,
                       " levels deep; a broker config needs fewer than ten (an alias *name "
                       "inside its own anchor's subtree nests without end)"));
    }
    const size_t dot = next.path_bytes == 0 ? 0 : 1;
    if (node.IsMap()) {
      for (const auto& entry : node) {
        const size_t key = entry.first.IsScalar() ? entry.first.Scalar().size() : 0;
        pending.push_back({entry.first, next.depth + 1, 0});
        pending.push_back({entry.second, next.depth + 1, next.path_bytes + dot + key});
      }
    } else if (node.IsSequence()) {
      size_t index = 0;
      for (const auto& item : node) {
        pending.push_back({item, next.depth + 1, next.path_bytes + IndexBytes(index++)});
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace hart
