// libFuzzer target: bytes -> YAML::Load -> CheckYamlTreeBounds ->
// YamlToProto(BrokerConfig) -> ApplyConfigDefaults -> ValidateConfig
// (registry with the built-in adapters): the steps of LoadConfig /
// `hart-broker --check-config`, minus the file read. Only YAML::Exception
// from YAML::Load is caught, as ParseConfigFile does, so an exception
// escaping the mapping is a finding (it would terminate the broker). When
// the config validates, the valid example intakes are routed through it:
// config validation promises that every rule's kinds resolve for every town.
#include <cstddef>
#include <cstdint>
#include <iostream>

#include "broker/config/config_loader.h"
#include "broker/config/config_source_map.h"
#include "broker/config/yaml_to_proto.h"
#include "broker/config/yaml_tree_bounds.h"
#include "broker/routing/geography.h"
#include "broker/routing/router.h"
#include "tests/fuzz/fuzz_support.h"
#include "yaml-cpp/yaml.h"

namespace cfg = ::hart::config::v1;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)hart::fuzz::BuiltinRegistry();
  (void)hart::fuzz::ValidExampleIntakes();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = hart::fuzz::AsString(data, size);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    if (hart::fuzz::Verbose()) std::cerr << "yaml: " << e.what() << "\n";
    return 0;
  }
  // As ParseConfigFile: nothing walks a tree past the bounds.
  if (const absl::Status bounded = hart::CheckYamlTreeBounds(root); !bounded.ok()) {
    if (hart::fuzz::Verbose()) std::cerr << "bounds: " << bounded.message() << "\n";
    return 0;
  }
  cfg::BrokerConfig config;
  std::vector<std::string> problems;
  hart::YamlToProto(root, &config, &problems);
  // Locating problems walks the same tree: it must not throw either.
  const hart::ConfigSourceMap sources = hart::ConfigSourceMap::Of(root);
  if (!problems.empty()) {
    for (const auto& p : problems) {
      const std::string located = sources.Locate("fuzz.yaml", p);
      if (hart::fuzz::Verbose()) std::cerr << "mapping: " << located << "\n";
    }
    return 0;
  }
  hart::ApplyConfigDefaults(&config);
  problems = hart::ValidateConfig(config, hart::fuzz::BuiltinRegistry());
  if (!problems.empty()) {
    if (hart::fuzz::Verbose()) {
      for (const auto& p : problems) std::cerr << "validation: " << p << "\n";
    }
    return 0;
  }
  std::vector<std::string> geography_problems;
  const hart::Geography geography = hart::Geography::Build(config, &geography_problems);
  if (!geography_problems.empty()) {
    std::cerr << "fuzz_config: ValidateConfig passed but Geography::Build found: "
              << geography_problems.front() << "\n";
    std::abort();
  }
  const hart::Router router(config, geography);
  for (const auto* intake : hart::fuzz::ValidExampleIntakes()) {
    // Not an error: the config may not know the intake's town.
    const bool known_town = geography.ResolveTown(intake->child().town()) != nullptr;
    auto decision = router.Route(*intake, hart::fuzz::FixedNow());
    if (known_town && !decision.ok()) {
      std::cerr << "fuzz_config: valid config, known town, but routing failed: "
                << decision.status() << "\n";
      std::abort();
    }
    if (hart::fuzz::Verbose()) {
      std::cerr << "valid config; " << intake->careline_report_id() << ": "
                << (decision.ok() ? "routed" : std::string(decision.status().message())) << "\n";
    }
  }
  return 0;
}
