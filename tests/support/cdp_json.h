// JSON for the DevTools protocol as protobuf's google.protobuf.Struct and
// Value (parsed and printed by protobuf's JSON utilities): building a
// command's parameters and reading fields out of replies and events.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/struct.pb.h"

namespace hart::testing::cdp {

using JsonObject = google::protobuf::Struct;
using JsonValue = google::protobuf::Value;

JsonValue JsonString(std::string_view text);
JsonValue JsonNumber(double number);
JsonValue JsonBool(bool value);
JsonValue JsonList(std::vector<JsonValue> items);
JsonValue JsonOf(JsonObject object);
JsonObject Object(std::initializer_list<std::pair<std::string, JsonValue>> fields);

absl::StatusOr<JsonObject> ParseObject(const std::string& text);
absl::StatusOr<JsonValue> ParseValue(const std::string& text);
std::string ToJson(const JsonObject& object);
std::string ToJson(const JsonValue& value);

// The value at a dotted path ("exceptionDetails.exception.description"), or
// a null value if any step is missing or not an object.
const JsonValue& Get(const JsonObject& object, std::string_view dotted_path);
// Its string, or "" when it is not one; its number, or 0 when it is not one.
std::string GetString(const JsonObject& object, std::string_view dotted_path);
double GetNumber(const JsonObject& object, std::string_view dotted_path);

}  // namespace hart::testing::cdp
