// Loading the broker's configuration: YAML file -> BrokerConfig (strict),
// defaults filled in, then every cross-reference checked.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/adapter_registry.h"
#include "hart/config/v1/broker_config.pb.h"

namespace hart {

// Reads and maps `path`. INVALID_ARGUMENT listing every problem (one per
// line, each naming the file and key path) if the YAML is malformed or has
// unknown keys or wrong types.
absl::StatusOr<hart::config::v1::BrokerConfig> ParseConfigFile(
    const std::string& path);

// Fills every unset option with its documented default.
void ApplyConfigDefaults(hart::config::v1::BrokerConfig* config);

// Cross-checks a parsed config; returns one line per problem (empty = valid):
// ids unique and well-formed, every town fully served, every rule's kinds
// resolving for every town, every agency's adapter registered and its
// settings accepted, field views naming real intake fields.
std::vector<std::string> ValidateConfig(
    const hart::config::v1::BrokerConfig& config,
    const AdapterRegistry& registry);

// Parse + defaults + validation; INVALID_ARGUMENT listing every problem.
absl::StatusOr<hart::config::v1::BrokerConfig> LoadConfig(
    const std::string& path, const AdapterRegistry& registry);

}  // namespace hart
