// Relative paths in adapter settings are resolved by the broker, so one
// config serves every installation: a setting whose key ends in "_file"
// (secrets, keys, CA files) resolves against the key directory; a setting
// named "directory" (a file drop) resolves against the data directory and is
// created there if missing. Absolute paths are left alone.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/struct.pb.h"

namespace hart {

absl::Status ResolveAdapterPaths(google::protobuf::Struct& settings, const std::string& key_dir,
                                 const std::string& data_dir);

}  // namespace hart
