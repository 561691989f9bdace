// An adapter's settings arrive as a google.protobuf.Struct (whatever the
// YAML held under `settings:`); each adapter declares its typed config as a
// protobuf message and parses the Struct into it strictly: an unknown or
// mistyped key is an error naming the adapter and the key.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "broker/common/strict_json.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace hart::adapters {

template <class Settings>
absl::StatusOr<Settings> ParseSettings(std::string_view adapter_type,
                                       const google::protobuf::Struct& raw) {
  std::string json;
  if (auto s = google::protobuf::util::MessageToJsonString(raw, &json); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(adapter_type), " settings: ", std::string(s.message())));
  }
  Settings settings;
  if (auto s = ParseStrictJson(json, &settings); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(adapter_type), " settings: ", std::string(s.message())));
  }
  return settings;
}

}  // namespace hart::adapters
