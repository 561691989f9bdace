// Shared state of the libFuzzer targets: the repository's Connecticut config
// (loaded once, the way the broker loads it), its geography and router, a
// fixed "now", and the example intakes. Everything is built on first use and
// never freed, so the fuzzers' leak checks see no per-input allocations.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "broker/adapter_registry.h"
#include "broker/routing/geography.h"
#include "broker/routing/router.h"
#include "hart/config/v1/broker_config.pb.h"
#include "hart/referral/v1/intake.pb.h"

namespace hart::fuzz {

// deploy/config/connecticut.yaml with defaults applied; aborts if it does not load.
const hart::config::v1::BrokerConfig& ConnecticutConfig();
const Geography& ConnecticutGeography();
const Router& ConnecticutRouter();
// A registry holding the built-in adapters (validation only, no feed appender).
const AdapterRegistry& BuiltinRegistry();

// 2026-11-21T14:00:00Z, the same fixed "now" the unit tests use: a day after
// the example intakes, so they validate.
absl::Time FixedNow();

// tests/testdata/intakes/<name>.json parsed strictly; aborts if it does not.
const hart::referral::v1::Intake& ExampleIntake(const std::string& name);
// The example intakes that validate against the Connecticut config.
const std::vector<const hart::referral::v1::Intake*>& ValidExampleIntakes();

// HART_FUZZ_VERBOSE=1 in the environment: the targets print what they
// rejected and why (for checking seeds by hand; never while fuzzing).
bool Verbose();

// The input as a string.
inline std::string AsString(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// Routes a valid intake and aborts (a fuzzer crash) when the broker's
// invariants do not hold: an intake that passed ValidateIntake must route
// (validation rejects unknown towns, config validation makes every kind
// resolve), and every destination names an agency with a deadline.
void RouteValidIntakeOrDie(const hart::referral::v1::Intake& intake, const char* what);

}  // namespace hart::fuzz
