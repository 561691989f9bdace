#include "tests/bench/rate_limit_config.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "broker/config/config_loader.h"
#include "google/protobuf/util/message_differencer.h"
#include "yaml-cpp/yaml.h"

namespace hart::bench {
namespace {

// Emits `node` keeping what the broker's YAML mapper distinguishes: a scalar
// quoted in the source (tag "!") stays quoted, so adapter settings read into
// a google.protobuf.Struct stay strings rather than becoming numbers or
// booleans. (yaml-cpp's own Node emitter drops that tag.)
void Emit(const YAML::Node& node, YAML::Emitter& out) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      out << YAML::BeginMap;
      for (const auto& entry : node) {
        out << YAML::Key;
        Emit(entry.first, out);
        out << YAML::Value;
        Emit(entry.second, out);
      }
      out << YAML::EndMap;
      return;
    case YAML::NodeType::Sequence:
      out << YAML::BeginSeq;
      for (const auto& item : node) Emit(item, out);
      out << YAML::EndSeq;
      return;
    case YAML::NodeType::Scalar:
      if (node.Tag() == "!") out << YAML::DoubleQuoted;
      out << node.Scalar();
      return;
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      out << YAML::Null;
      return;
  }
}

absl::StatusOr<YAML::Node> LoadYaml(const std::string& path) {
  try {
    return YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return absl::NotFoundError(absl::StrCat("cannot read config file ", path));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": line ", e.mark.line + 1, ", column ",
                                                   e.mark.column + 1, ": ", e.msg));
  }
}

}  // namespace

absl::StatusOr<RateLimit> ConfiguredRateLimit(const std::string& config_path) {
  auto config = hart::ParseConfigFile(config_path);
  if (!config.ok()) return config.status();
  hart::ApplyConfigDefaults(&*config);
  return RateLimit{config->server().rate_limit_per_second(), config->server().rate_limit_burst()};
}

absl::Status WriteConfigWithRateLimit(const std::string& config_path, const RateLimit& limit,
                                      const std::string& output_path,
                                      uint32_t streams_per_identity) {
  auto root = LoadYaml(config_path);
  if (!root.ok()) return root.status();
  if (!root->IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat(config_path, ": the top level must be a mapping of keys (server, agencies, "
                                  "...) to values"));
  }
  const YAML::Node& const_root = *root;  // const: looking up does not add the key
  if (!const_root["server"] || const_root["server"].IsNull()) {  // absent, or "server:" alone
    (*root)["server"] = YAML::Node(YAML::NodeType::Map);
  }
  YAML::Node server = (*root)["server"];  // shares the node: edits land in *root
  if (!server.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat(config_path, ": server must be a mapping of options to values"));
  }
  server["rate_limit_per_second"] = limit.per_second;
  server["rate_limit_burst"] = limit.burst;
  if (streams_per_identity > 0) server["max_streams_per_identity"] = streams_per_identity;

  YAML::Emitter out;
  out << YAML::Comment(absl::StrCat("Written by hart-bench from ", config_path,
                                    " with the per-certificate rate limit raised."));
  out << YAML::Newline;
  Emit(*root, out);
  if (!out.good()) {
    return absl::InternalError(
        absl::StrCat("cannot write ", config_path, " back as YAML: ", out.GetLastError(),
                     "; run with --keep_rate_limit to use it unchanged"));
  }
  {
    std::ofstream file(output_path, std::ios::binary | std::ios::trunc);
    file << out.c_str() << "\n";
    if (!file.flush()) {
      return absl::InternalError(absl::StrCat("cannot write ", output_path));
    }
  }

  // The broker must see the same config apart from the two values.
  auto original = hart::ParseConfigFile(config_path);
  if (!original.ok()) return original.status();
  auto derived = hart::ParseConfigFile(output_path);
  if (!derived.ok()) {
    return absl::InternalError(absl::StrCat(
        "the config derived from ", config_path, " does not read back (", derived.status().message(),
        "); run with --keep_rate_limit to use it unchanged"));
  }
  original->mutable_server()->set_rate_limit_per_second(limit.per_second);
  original->mutable_server()->set_rate_limit_burst(limit.burst);
  if (streams_per_identity > 0) {
    original->mutable_server()->set_max_streams_per_identity(streams_per_identity);
  }
  std::string difference;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&difference);
  if (!differencer.Compare(*original, *derived)) {
    return absl::InternalError(absl::StrCat(
        output_path, " (derived from ", config_path,
        ") differs from it beyond the rate limit; run with --keep_rate_limit to use the config "
        "unchanged. Differences:\n",
        difference.substr(0, 2000)));
  }
  return absl::OkStatus();
}

}  // namespace hart::bench
