#include "broker/config/yaml_to_proto.h"

#include <charconv>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace hart {
namespace {

namespace pb = google::protobuf;

class Mapper {
 public:
  explicit Mapper(std::vector<std::string>* problems) : problems_(problems) {}

  void Message(const YAML::Node& node, const std::string& path,
               pb::Message* msg) {
    const pb::Descriptor* desc = msg->GetDescriptor();
    if (desc->full_name() == "google.protobuf.Duration") {
      return Duration(node, path, static_cast<pb::Duration*>(msg));
    }
    if (desc->full_name() == "google.protobuf.Timestamp") {
      return Timestamp(node, path, static_cast<pb::Timestamp*>(msg));
    }
    if (desc->full_name() == "google.protobuf.Struct") {
      return Struct(node, path, static_cast<pb::Struct*>(msg));
    }
    if (node.IsNull()) return;  // an empty section: all defaults
    if (!node.IsMap()) {
      return Problem(path, "expected a mapping of keys to values");
    }
    for (const auto& entry : node) {
      // A list or mapping as a key would make yaml-cpp throw (found by
      // fuzz_config): report it like any other problem.
      if (!entry.first.IsScalar()) {
        Problem(path, "a key must be a plain name, not a list, mapping or null");
        continue;
      }
      const std::string key = entry.first.Scalar();
      const std::string key_path = path.empty() ? key : path + "." + key;
      const pb::FieldDescriptor* field = desc->FindFieldByName(key);
      if (field == nullptr) {
        std::vector<std::string> known;
        for (int i = 0; i < desc->field_count(); ++i) {
          known.push_back(desc->field(i)->name());
        }
        Problem(key_path, absl::StrCat("unknown key; known keys here: ",
                                       absl::StrJoin(known, ", ")));
        continue;
      }
      Field(entry.second, key_path, msg, field);
    }
  }

 private:
  void Problem(const std::string& path, const std::string& what) {
    problems_->push_back(absl::StrCat(path.empty() ? "(top)" : path, ": ", what));
  }

  void Field(const YAML::Node& node, const std::string& path, pb::Message* msg,
             const pb::FieldDescriptor* field) {
    if (field->is_map()) {
      return Problem(path, "map fields are not supported in config");
    }
    if (field->is_repeated()) {
      if (node.IsNull()) return;
      if (!node.IsSequence()) return Problem(path, "expected a list");
      for (size_t i = 0; i < node.size(); ++i) {
        Value(node[i], absl::StrCat(path, "[", i, "]"), msg, field, true);
      }
      return;
    }
    Value(node, path, msg, field, false);
  }

  void Value(const YAML::Node& node, const std::string& path, pb::Message* msg,
             const pb::FieldDescriptor* field, bool repeated) {
    const pb::Reflection* refl = msg->GetReflection();
    if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      pb::Message* sub = repeated ? refl->AddMessage(msg, field)
                                  : refl->MutableMessage(msg, field);
      return Message(node, path, sub);
    }
    if (!node.IsScalar()) return Problem(path, "expected a single value");
    const std::string text = node.Scalar();
    switch (field->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_STRING:
        repeated ? refl->AddString(msg, field, text)
                 : refl->SetString(msg, field, text);
        return;
      case pb::FieldDescriptor::CPPTYPE_BOOL: {
        bool value = false;
        if (!ParseBool(text, &value)) {
          return Problem(path, absl::StrCat("expected true or false, got '",
                                            text, "'"));
        }
        repeated ? refl->AddBool(msg, field, value)
                 : refl->SetBool(msg, field, value);
        return;
      }
      case pb::FieldDescriptor::CPPTYPE_ENUM: {
        const pb::EnumValueDescriptor* value =
            field->enum_type()->FindValueByName(text);
        if (value == nullptr || value->number() == 0) {
          std::vector<std::string> names;
          for (int i = 1; i < field->enum_type()->value_count(); ++i) {
            names.push_back(field->enum_type()->value(i)->name());
          }
          return Problem(path, absl::StrCat("'", text, "' is not one of ",
                                            absl::StrJoin(names, ", ")));
        }
        repeated ? refl->AddEnum(msg, field, value)
                 : refl->SetEnum(msg, field, value);
        return;
      }
      case pb::FieldDescriptor::CPPTYPE_INT32:
      case pb::FieldDescriptor::CPPTYPE_INT64:
      case pb::FieldDescriptor::CPPTYPE_UINT32:
      case pb::FieldDescriptor::CPPTYPE_UINT64:
        return Integer(text, path, msg, field, repeated);
      case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      case pb::FieldDescriptor::CPPTYPE_FLOAT: {
        double value = 0;
        auto [ptr, ec] =
            std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc() || ptr != text.data() + text.size()) {
          return Problem(path, absl::StrCat("expected a number, got '", text, "'"));
        }
        if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_DOUBLE) {
          repeated ? refl->AddDouble(msg, field, value)
                   : refl->SetDouble(msg, field, value);
        } else {
          repeated ? refl->AddFloat(msg, field, static_cast<float>(value))
                   : refl->SetFloat(msg, field, static_cast<float>(value));
        }
        return;
      }
      default:
        return Problem(path, "unsupported field type");
    }
  }

  void Integer(const std::string& text, const std::string& path,
               pb::Message* msg, const pb::FieldDescriptor* field,
               bool repeated) {
    const pb::Reflection* refl = msg->GetReflection();
    const bool is_unsigned =
        field->cpp_type() == pb::FieldDescriptor::CPPTYPE_UINT32 ||
        field->cpp_type() == pb::FieldDescriptor::CPPTYPE_UINT64;
    const bool is_32 = field->cpp_type() == pb::FieldDescriptor::CPPTYPE_INT32 ||
                       field->cpp_type() == pb::FieldDescriptor::CPPTYPE_UINT32;
    int64_t value = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size()) {
      return Problem(path, absl::StrCat("expected a whole number, got '", text, "'"));
    }
    if (is_unsigned && value < 0) {
      return Problem(path, absl::StrCat("must not be negative, got ", value));
    }
    if (is_32 && (value > (is_unsigned ? int64_t{UINT32_MAX} : int64_t{INT32_MAX}) ||
                  value < int64_t{INT32_MIN})) {
      return Problem(path, absl::StrCat("out of range: ", value));
    }
    switch (field->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_INT32:
        repeated ? refl->AddInt32(msg, field, static_cast<int32_t>(value))
                 : refl->SetInt32(msg, field, static_cast<int32_t>(value));
        break;
      case pb::FieldDescriptor::CPPTYPE_INT64:
        repeated ? refl->AddInt64(msg, field, value)
                 : refl->SetInt64(msg, field, value);
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT32:
        repeated ? refl->AddUInt32(msg, field, static_cast<uint32_t>(value))
                 : refl->SetUInt32(msg, field, static_cast<uint32_t>(value));
        break;
      default:
        repeated ? refl->AddUInt64(msg, field, static_cast<uint64_t>(value))
                 : refl->SetUInt64(msg, field, static_cast<uint64_t>(value));
    }
  }

  static bool ParseBool(const std::string& text, bool* value) {
    const std::string lower = absl::AsciiStrToLower(text);
    if (lower == "true" || lower == "yes") return *value = true, true;
    if (lower == "false" || lower == "no") return *value = false, true;
    return false;
  }

  void Duration(const YAML::Node& node, const std::string& path,
                pb::Duration* out) {
    absl::Duration d;
    if (!node.IsScalar() || !absl::ParseDuration(node.Scalar(), &d) ||
        d < absl::ZeroDuration()) {
      return Problem(path, "expected a duration such as \"4h\", \"90m\" or \"1h30m\"");
    }
    const int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &d);
    out->set_seconds(seconds);
    out->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(d)));
  }

  void Timestamp(const YAML::Node& node, const std::string& path,
                 pb::Timestamp* out) {
    absl::Time t;
    std::string err;
    if (!node.IsScalar() ||
        !absl::ParseTime(absl::RFC3339_full, node.Scalar(), &t, &err)) {
      return Problem(path, "expected an RFC 3339 time such as 2026-11-20T14:03:00Z");
    }
    out->set_seconds(absl::ToUnixSeconds(t));
  }

  void Struct(const YAML::Node& node, const std::string& path, pb::Struct* out) {
    if (node.IsNull()) return;
    if (!node.IsMap()) return Problem(path, "expected a mapping");
    for (const auto& entry : node) {
      if (!entry.first.IsScalar()) {
        Problem(path, "a key must be a plain name, not a list, mapping or null");
        continue;
      }
      const std::string key = entry.first.Scalar();
      StructValue(entry.second, path + "." + key, &(*out->mutable_fields())[key]);
    }
  }

  void StructValue(const YAML::Node& node, const std::string& path,
                   pb::Value* out) {
    if (node.IsNull()) {
      out->set_null_value(pb::NULL_VALUE);
    } else if (node.IsMap()) {
      Struct(node, path, out->mutable_struct_value());
    } else if (node.IsSequence()) {
      for (size_t i = 0; i < node.size(); ++i) {
        StructValue(node[i], absl::StrCat(path, "[", i, "]"),
                    out->mutable_list_value()->add_values());
      }
    } else {
      const std::string text = node.Scalar();
      bool b;
      double d;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
      if (node.Tag() != "!" && ParseBool(text, &b)) {
        out->set_bool_value(b);
      } else if (node.Tag() != "!" && ec == std::errc() &&
                 ptr == text.data() + text.size()) {
        out->set_number_value(d);
      } else {
        out->set_string_value(text);
      }
    }
  }

  std::vector<std::string>* problems_;
};

}  // namespace

void YamlToProto(const YAML::Node& node, google::protobuf::Message* message,
                 std::vector<std::string>* problems) {
  Mapper(problems).Message(node, "", message);
}

}  // namespace hart
