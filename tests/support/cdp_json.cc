#include "tests/support/cdp_json.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"

namespace hart::testing::cdp {
namespace {

namespace util = google::protobuf::util;

const JsonValue& Null() {
  static const JsonValue* const null = new JsonValue();
  return *null;
}

template <typename Message>
absl::StatusOr<Message> Parse(const std::string& text) {
  Message message;
  const auto status = util::JsonStringToMessage(text, &message);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unparseable JSON from the browser: ", status.ToString()));
  }
  return message;
}

template <typename Message>
std::string Print(const Message& message) {
  std::string text;
  // A Struct or Value always prints: it is JSON already.
  (void)util::MessageToJsonString(message, &text);
  return text;
}

}  // namespace

JsonValue JsonString(std::string_view text) {
  JsonValue value;
  value.set_string_value(std::string(text));
  return value;
}

JsonValue JsonNumber(double number) {
  JsonValue value;
  value.set_number_value(number);
  return value;
}

JsonValue JsonBool(bool b) {
  JsonValue value;
  value.set_bool_value(b);
  return value;
}

JsonValue JsonList(std::vector<JsonValue> items) {
  JsonValue value;
  for (JsonValue& item : items) *value.mutable_list_value()->add_values() = std::move(item);
  return value;
}

JsonValue JsonOf(JsonObject object) {
  JsonValue value;
  *value.mutable_struct_value() = std::move(object);
  return value;
}

JsonObject Object(std::initializer_list<std::pair<std::string, JsonValue>> fields) {
  JsonObject object;
  for (const auto& [name, value] : fields) (*object.mutable_fields())[name] = value;
  return object;
}

absl::StatusOr<JsonObject> ParseObject(const std::string& text) { return Parse<JsonObject>(text); }
absl::StatusOr<JsonValue> ParseValue(const std::string& text) { return Parse<JsonValue>(text); }
std::string ToJson(const JsonObject& object) { return Print(object); }
std::string ToJson(const JsonValue& value) { return Print(value); }

const JsonValue& Get(const JsonObject& object, std::string_view dotted_path) {
  const JsonObject* current = &object;
  const JsonValue* found = &Null();
  for (absl::string_view step :
       absl::StrSplit(absl::string_view(dotted_path.data(), dotted_path.size()), '.')) {
    if (current == nullptr) return Null();
    const auto it = current->fields().find(std::string(step));
    if (it == current->fields().end()) return Null();
    found = &it->second;
    current = found->has_struct_value() ? &found->struct_value() : nullptr;
  }
  return *found;
}

std::string GetString(const JsonObject& object, std::string_view dotted_path) {
  const JsonValue& value = Get(object, dotted_path);
  return value.has_string_value() ? value.string_value() : std::string();
}

double GetNumber(const JsonObject& object, std::string_view dotted_path) {
  const JsonValue& value = Get(object, dotted_path);
  return value.has_number_value() ? value.number_value() : 0;
}

}  // namespace hart::testing::cdp
