#include "broker/config/config_source_map.h"

#include <cctype>

#include "absl/strings/str_cat.h"

namespace hart {
namespace {

// A key path or an entity name ends where a word character does not follow
// ("rules[1]" must not match inside "rules[12]").
bool EndsAWord(std::string_view text, size_t end) {
  if (end >= text.size()) return true;
  const char c = text[end];
  return !(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
}

}  // namespace

ConfigSourceMap ConfigSourceMap::Of(const YAML::Node& root) {
  ConfigSourceMap map;
  map.Walk(root, "");
  map.NameEntities(root);
  return map;
}

void ConfigSourceMap::Walk(const YAML::Node& node, const std::string& path) {
  if (node.IsMap()) {
    for (const auto& entry : node) {
      if (!entry.first.IsScalar()) continue;  // the mapping reports it
      const std::string key_path =
          path.empty() ? entry.first.Scalar() : absl::StrCat(path, ".", entry.first.Scalar());
      const YAML::Mark mark = entry.first.Mark();
      paths_.emplace(key_path, Place{mark.line + 1, mark.column + 1});
      Walk(entry.second, key_path);
    }
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      const std::string item_path = absl::StrCat(path, "[", i, "]");
      const YAML::Mark mark = node[i].Mark();
      paths_.emplace(item_path, Place{mark.line + 1, mark.column + 1});
      Walk(node[i], item_path);
    }
  }
}

void ConfigSourceMap::Name(std::string name, const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  entities_.emplace(std::move(name), Place{mark.line + 1, mark.column + 1});
}

// The phrases the checks after the mapping use for what they cannot name by
// key path (broker/routing/geography.cc, config_loader.cc).
void ConfigSourceMap::NameEntities(const YAML::Node& root) {
  if (!root.IsMap()) return;
  auto scalar = [](const YAML::Node& item, const char* key) -> std::string {
    if (!item.IsMap()) return "";
    const YAML::Node value = item[key];
    return value && value.IsScalar() ? value.Scalar() : "";
  };
  if (const YAML::Node agencies = root["agencies"]; agencies && agencies.IsSequence()) {
    for (const auto& agency : agencies) {
      const std::string id = scalar(agency, "id");
      if (id.empty()) continue;
      Name(absl::StrCat("agency '", id, "'"), agency);
      Name(absl::StrCat("agency id '", id, "'"), agency);
    }
  }
  if (const YAML::Node towns = root["towns"]; towns && towns.IsSequence()) {
    for (const auto& town : towns) {
      const std::string name = scalar(town, "name");
      if (name.empty()) continue;
      Name(absl::StrCat("town '", name, "'"), town);
      Name(absl::StrCat("town or alias '", name, "'"), town);
      const YAML::Node aliases = town["aliases"];
      if (!aliases || !aliases.IsSequence()) continue;
      for (const auto& alias : aliases) {
        if (alias.IsScalar()) Name(absl::StrCat("town or alias '", alias.Scalar(), "'"), alias);
      }
    }
  }
  if (const YAML::Node regions = root["regions"]; regions && regions.IsSequence()) {
    for (const auto& region : regions) {
      const std::string number = scalar(region, "number");
      if (!number.empty()) Name(absl::StrCat("region ", number), region);
    }
  }
}

// One lookup per word end of the problem, not a scan of every name: a
// config of many entities with many problems stays linear.
const ConfigSourceMap::Place* ConfigSourceMap::FindLongestPrefix(
    const std::map<std::string, Place, std::less<>>& places, std::string_view problem) {
  const Place* found = nullptr;
  for (size_t end = 1; end <= problem.size(); ++end) {
    if (!EndsAWord(problem, end)) continue;
    const auto it = places.find(problem.substr(0, end));
    if (it != places.end()) found = &it->second;  // a longer match is more precise
  }
  return found;
}

std::string ConfigSourceMap::Locate(const std::string& file, const std::string& problem) const {
  const Place* place = FindLongestPrefix(paths_, problem);
  if (place == nullptr) place = FindLongestPrefix(entities_, problem);
  if (place == nullptr) return absl::StrCat(file, ": ", problem);
  return absl::StrCat(file, ":", place->line, ":", place->column, ": ", problem);
}

}  // namespace hart
