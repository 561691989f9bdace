// Strict mapping of YAML onto protobuf messages through reflection: keys are
// field names, an unknown key is an error naming the key path (e.g.
// "agencies[3].adapter.typo: unknown key"; ConfigSourceMap adds the file,
// line and column). Every problem is reported, not only the first.
#pragma once

#include <string>
#include <vector>

#include "google/protobuf/message.h"
#include "yaml-cpp/yaml.h"

namespace hart {

// Fills `message` from `node`. Appends one line per problem to `problems`,
// each starting with the key path. Well-known types: Duration
// from strings such as "4h" or "1h30m"; Timestamp from RFC 3339; Struct and
// Value from any YAML.
void YamlToProto(const YAML::Node& node, google::protobuf::Message* message,
                 std::vector<std::string>* problems);

}  // namespace hart
