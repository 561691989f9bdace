#include "tests/fuzz/fuzz_support.h"
#include "broker/common/strict_json.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "adapters/builtin.h"
#include "broker/config/config_loader.h"
#include "broker/intake/intake_validator.h"
#include "google/protobuf/util/json_util.h"

namespace hart::fuzz {

namespace v1 = ::hart::referral::v1;

namespace {

std::string SourcePath(const std::string& relative) {
  return std::string(HART_SOURCE_DIR) + "/" + relative;
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "fuzz_support: %s\n", what.c_str());
  std::abort();
}

}  // namespace

bool Verbose() {
  static const bool verbose = [] {
    const char* v = std::getenv("HART_FUZZ_VERBOSE");
    return v != nullptr && std::string(v) == "1";
  }();
  return verbose;
}

const AdapterRegistry& BuiltinRegistry() {
  static const AdapterRegistry* registry = [] {
    auto* r = new AdapterRegistry();
    if (auto s = RegisterBuiltinAdapters(*r, {}); !s.ok()) Die(s.ToString());
    return r;
  }();
  return *registry;
}

const hart::config::v1::BrokerConfig& ConnecticutConfig() {
  static const auto* config = [] {
    auto loaded = LoadConfig(SourcePath("deploy/config/connecticut.yaml"), BuiltinRegistry());
    if (!loaded.ok()) Die(loaded.status().ToString());
    return new hart::config::v1::BrokerConfig(std::move(*loaded));
  }();
  return *config;
}

const Geography& ConnecticutGeography() {
  static const Geography* geography = [] {
    std::vector<std::string> problems;
    auto* g = new Geography(Geography::Build(ConnecticutConfig(), &problems));
    if (!problems.empty()) Die("geography: " + problems.front());
    return g;
  }();
  return *geography;
}

const Router& ConnecticutRouter() {
  static const Router* router = new Router(ConnecticutConfig(), ConnecticutGeography());
  return *router;
}

absl::Time FixedNow() { return absl::FromUnixSeconds(1795269600); }  // 2026-11-21T14:00:00Z

const v1::Intake& ExampleIntake(const std::string& name) {
  static auto* cache = new std::map<std::string, v1::Intake>();
  auto it = cache->find(name);
  if (it != cache->end()) return it->second;
  const std::string path = SourcePath("tests/testdata/intakes/" + name + ".json");
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  v1::Intake intake;
  const absl::Status status = hart::ParseStrictJson(text.str(), &intake);
  if (!in || !status.ok()) Die(path + ": " + status.ToString());
  return cache->emplace(name, std::move(intake)).first->second;
}

const std::vector<const v1::Intake*>& ValidExampleIntakes() {
  static const auto* intakes = [] {
    auto* out = new std::vector<const v1::Intake*>();
    for (const char* name : {"labor-trafficking-waterbury", "missing-from-foster-care-new-haven",
                             "school-sex-trafficking-hartford", "urgent-hotel-bridgeport"}) {
      const v1::Intake& intake = ExampleIntake(name);
      if (!ValidateIntake(intake, ConnecticutGeography(), FixedNow()).empty()) {
        Die(std::string("example intake ") + name + " does not validate");
      }
      out->push_back(&intake);
    }
    return out;
  }();
  return *intakes;
}

void RouteValidIntakeOrDie(const v1::Intake& intake, const char* what) {
  auto decision = ConnecticutRouter().Route(intake, FixedNow());
  if (!decision.ok()) {
    Die(std::string(what) + ": a valid intake did not route: " + decision.status().ToString());
  }
  if (decision->town == nullptr) Die(std::string(what) + ": routed without a town");
  if (decision->verdicts.size() != static_cast<size_t>(ConnecticutConfig().rules_size())) {
    Die(std::string(what) + ": not one verdict per rule");
  }
  for (const auto& dest : decision->destinations) {
    if (dest.agency == nullptr || dest.rule_ids.empty()) {
      Die(std::string(what) + ": a destination without agency or rule");
    }
  }
  // Submissions route without reasons: the decision must not depend on them.
  auto unsaid = ConnecticutRouter().Route(intake, FixedNow(), Reasons::kUnsaid);
  if (!unsaid.ok()) Die(std::string(what) + ": routed with reasons but not without");
  for (auto& verdict : decision->verdicts) {
    verdict.reasons.clear();
    verdict.description.clear();
  }
  if (!(*decision == *unsaid)) {
    Die(std::string(what) + ": routing without reasons decided otherwise");
  }
  if (Verbose()) {
    std::cerr << what << ": valid, " << decision->destinations.size() << " destination(s)\n";
  }
}

}  // namespace hart::fuzz
