// Where each part of a config file is written, so every problem found in it
// -- by the YAML mapping or by the checks after it -- names the file, the
// line and the column as well as the key path, the way compilers do:
//   connecticut.yaml:57:9: rules[0].destinations[1].ack_deadlin_normal: unknown key
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "yaml-cpp/yaml.h"

namespace hart {

class ConfigSourceMap {
 public:
  ConfigSourceMap() = default;
  // Records the position of every key and list item under `root`, and of the
  // entities problems name by id: "agency 'x'", "town 'x'", "region 3".
  static ConfigSourceMap Of(const YAML::Node& root);

  // "file:line:column: problem" when the problem starts with a key path or
  // an entity of the file (the longest match wins); "file: problem" when it
  // names nothing in the file (e.g. "no towns are configured").
  std::string Locate(const std::string& file, const std::string& problem) const;

 private:
  struct Place {
    int line = 0;  // 1-based, as editors count
    int column = 0;
  };
  void Walk(const YAML::Node& node, const std::string& path);
  void NameEntities(const YAML::Node& root);
  void Name(std::string name, const YAML::Node& node);
  // The longest key of `places` that starts `problem` and ends a word.
  static const Place* FindLongestPrefix(const std::map<std::string, Place, std::less<>>& places,
                                        std::string_view problem);

  std::map<std::string, Place, std::less<>> paths_;
  // Where each entity is first defined: a name given twice points at the
  // first (that is what a "defined twice" problem is about).
  std::map<std::string, Place, std::less<>> entities_;
};

}  // namespace hart
