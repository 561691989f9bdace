// Strict mapping of YAML onto protobuf messages through reflection: keys are
// field names, an unknown key is an error naming the file and the key path
// (e.g. "connecticut.yaml: agencies[3].adapter.typo: unknown key"). Every
// problem is reported, not only the first.
#pragma once

#include <string>
#include <vector>

#include "google/protobuf/message.h"
#include "yaml-cpp/yaml.h"

namespace hart {

// Fills `message` from `node`. Appends one line per problem to `problems`,
// each prefixed with `source` (the file name). Well-known types: Duration
// from strings such as "4h" or "1h30m"; Timestamp from RFC 3339; Struct and
// Value from any YAML.
void YamlToProto(const YAML::Node& node, const std::string& source,
                 google::protobuf::Message* message,
                 std::vector<std::string>* problems);

}  // namespace hart
