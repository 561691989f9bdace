// The broker a hart-bench mode runs against when it starts one itself: the
// config's agencies get dev certificates, and the broker runs a copy of the
// config with the per-certificate rate limit lifted (unless
// --keep_rate_limit), on --data_dir or a temporary directory.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/bench/agency_adapters.h"
#include "tests/bench/bench_config.h"
#include "tests/bench/broker_launcher.h"
#include "tests/bench/rate_limit_config.h"

namespace hart::bench {

// Progress to stderr, as every mode reports it.
void Progress(const std::string& message);

// The agencies of --config, with dev certificates made for each of them
// (idempotent) unless `make_certs` is false.
absl::StatusOr<std::vector<AgencyAdapter>> BenchAgencies(const BenchConfig& c, bool make_certs);

struct StartedBroker {
  std::unique_ptr<BrokerLauncher> launcher;
  RateLimit rate_limit;         // the limit it runs with
  RateLimit config_rate_limit;  // --config's own
};

// Starts the broker for `c`. `streams_per_identity` > 0 also lifts
// server.max_streams_per_identity in the copied config.
absl::StatusOr<StartedBroker> StartBenchBroker(const BenchConfig& c,
                                               uint32_t streams_per_identity = 0);

}  // namespace hart::bench
